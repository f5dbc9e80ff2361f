// One ActionCable connection for all tabs of a browser. The elected leader tab owns the
// WebSocket (the unmodified @rails/actioncable consumer) and relays everything it receives
// to the other tabs over a BroadcastChannel; follower tabs ask the leader to subscribe on
// their behalf. When the leader goes away the next tab takes over, opens its own socket and
// resubscribes everything the remaining tabs still need.
//
// Status is the leader's truth, relayed: 'connecting' until the first socket opens,
// 'connected' while it is open, 'reconnecting' while it is down, and 'offline' once it has
// been down for OFFLINE_AFTER_MS or the browser says it is offline. The leader answers every
// follower that says hello or subscribes with the current status, so a tab that opens late
// never waits for the next change. While the socket is down the leader probes `/up` every
// PROBE_MS and reopens the consumer as soon as the server answers, instead of waiting for
// @rails/actioncable's back-off (3 to 20 s).
import { electLeader, newTabId } from './election.js'
import { createEventLog } from './eventLog.js'

const keyOf = (identifier) => JSON.stringify(identifier)

/** How long the socket may be down before the status says 'offline'. */
export const OFFLINE_AFTER_MS = 5000
/** How often the leader checks its socket and, while it is down, probes the server. */
export const PROBE_MS = 250

/** The longest wait between two reopens when the server answers `/up` but not the socket. */
export const MAX_REOPEN_MS = 5000

/** Resolves true when the server answers `GET url` with a 2xx, false otherwise. */
export function probeUp(url = '/up') {
  const signal = globalThis.AbortSignal?.timeout?.(2000)
  return fetch(url, { cache: 'no-store', credentials: 'same-origin', signal }).then(
    (response) => response.ok,
    () => false,
  )
}

export function createSharedCable({
  createConsumer,
  url = '/cable',
  name = 'trifecta-cable',
  BroadcastChannelImpl = globalThis.BroadcastChannel,
  locks,
  log = createEventLog(),
  probe = probeUp,
  now = () => Date.now(),
  online = () => globalThis.navigator?.onLine !== false,
} = {}) {
  const tabId = newTabId()
  const channel = new BroadcastChannelImpl(name)
  // key -> { identifier, handlers: Set<{received, confirmed, rejected}> }
  const local = new Map()
  // Leader only: key -> { identifier, tabs: Set<tabId>, subscription }
  const remote = new Map()
  const roleListeners = new Set()
  const statusListeners = new Set()
  let consumer = null
  let role = null
  let status = 'connecting'
  let statusTimer = null
  // Leader only: whether its socket was ever open, since when it is down, a probe in flight.
  let everConnected = false
  let downSince = null
  let probing = false
  let reopenWait = PROBE_MS
  let nextReopen = 0

  const setStatus = (next) => {
    if (next === status) return
    status = next
    log.add('cable', `connection ${next}`)
    statusListeners.forEach((fn) => fn(next))
    if (role === 'leader') channel.postMessage({ type: 'status', status: next })
  }
  const postStatus = () => channel.postMessage({ type: 'status', status })
  const deliver = (key, data) => {
    local.get(key)?.handlers.forEach((h) => h.received?.(data))
  }
  const confirm = (key, ok) => {
    local.get(key)?.handlers.forEach((h) => (ok ? h.confirmed?.() : h.rejected?.()))
  }

  // --- leader side -------------------------------------------------------------------
  const wanted = (key) => local.has(key) || (remote.get(key)?.tabs.size ?? 0) > 0
  const leaderSubscribe = (key, identifier) => {
    let entry = remote.get(key)
    if (!entry) {
      entry = { identifier, tabs: new Set(), subscription: null }
      remote.set(key, entry)
    }
    if (entry.subscription || !consumer) return entry
    entry.subscription = consumer.subscriptions.create(identifier, {
      received(data) {
        log.add('broadcast', `${identifier.channel}: message received`)
        deliver(key, data)
        channel.postMessage({ type: 'message', key, data })
      },
      connected() {
        everConnected = true
        downSince = null
        setStatus('connected')
        confirm(key, true)
        channel.postMessage({ type: 'confirmed', key })
      },
      disconnected() {
        checkLink()
      },
      rejected() {
        log.add('cable', `${identifier.channel}: subscription rejected`)
        confirm(key, false)
        channel.postMessage({ type: 'rejected', key })
        entry.subscription = null
        remote.delete(key)
      },
    })
    return entry
  }
  const leaderRelease = (key) => {
    const entry = remote.get(key)
    if (!entry || wanted(key)) return
    entry.subscription?.unsubscribe()
    remote.delete(key)
  }
  // Leader only: derives the status from the socket and, while it is down, reopens it the
  // moment the server answers `/up`. A reopen that does not stick (the server answers /up
  // but refuses the socket) doubles the wait before the next one, up to MAX_REOPEN_MS.
  const checkLink = () => {
    const connection = consumer?.connection
    if (!connection) return
    if (connection.isOpen?.()) {
      everConnected = true
      downSince = null
      reopenWait = PROBE_MS
      nextReopen = 0
      setStatus('connected')
      return
    }
    if (downSince === null) downSince = now()
    // Closed on purpose (the server said not to reconnect, or the tab let go): no probing.
    if (connection.monitor && !connection.monitor.isRunning?.()) return setStatus('offline')
    if (!online() || now() - downSince >= OFFLINE_AFTER_MS) setStatus('offline')
    else setStatus(everConnected ? 'reconnecting' : 'connecting')
    // A socket that is still opening gets to finish; reopening it would add a 500 ms delay.
    if (probing || now() < nextReopen || connection.isActive?.()) return
    probing = true
    Promise.resolve(probe())
      .then((up) => {
        if (!up || consumer?.connection !== connection || connection.isActive?.()) return
        log.add('cable', 'the server answers again; reopening the socket now')
        nextReopen = now() + reopenWait
        reopenWait = Math.min(reopenWait * 2, MAX_REOPEN_MS)
        connection.reopen()
      })
      .catch(() => {})
      .finally(() => {
        probing = false
      })
  }
  const becomeLeader = () => {
    log.add('leader', 'this tab is the leader and holds the WebSocket')
    consumer = createConsumer(url)
    consumer.connect?.()
    for (const [key, { identifier }] of local) leaderSubscribe(key, identifier)
    // Followers answer with what they need.
    channel.postMessage({ type: 'leader', tab: tabId })
    everConnected = false
    downSince = null
    statusTimer = setInterval(checkLink, PROBE_MS)
  }

  // --- follower side -----------------------------------------------------------------
  const announce = () => {
    const keys = [...local].map(([key, { identifier }]) => ({ key, identifier }))
    channel.postMessage({ type: 'hello', tab: tabId, subscriptions: keys })
  }

  channel.addEventListener('message', (event) => {
    const msg = event.data
    if (!msg || typeof msg.type !== 'string') return
    switch (msg.type) {
      case 'message':
        if (role === 'follower' && local.has(msg.key)) {
          log.add('follower', 'message relayed from the leader')
          deliver(msg.key, msg.data)
        }
        break
      case 'confirmed':
      case 'rejected':
        if (role === 'follower') confirm(msg.key, msg.type === 'confirmed')
        break
      case 'status':
        if (role === 'follower') {
          status = msg.status
          statusListeners.forEach((fn) => fn(status))
        }
        break
      case 'leader':
        if (role === 'follower') {
          log.add('follower', 'a new leader took over; resubscribing through it')
          announce()
        }
        break
      case 'hello':
        if (role === 'leader') {
          for (const { key, identifier } of msg.subscriptions ?? []) {
            const entry = leaderSubscribe(key, identifier)
            entry.tabs.add(msg.tab)
            if (entry.subscription && status === 'connected') channel.postMessage({ type: 'confirmed', key })
          }
          postStatus()
        }
        break
      case 'subscribe':
        if (role === 'leader') {
          leaderSubscribe(msg.key, msg.identifier).tabs.add(msg.tab)
          postStatus()
        }
        break
      case 'unsubscribe':
        if (role === 'leader') {
          remote.get(msg.key)?.tabs.delete(msg.tab)
          leaderRelease(msg.key)
        }
        break
      case 'bye':
        if (role === 'leader') {
          for (const [key, entry] of remote) {
            entry.tabs.delete(msg.tab)
            leaderRelease(key)
          }
        } else if (role === 'follower') {
          announce()
        }
        break
      default:
        break
    }
  })

  const election = electLeader({
    name: `${name}-leader`,
    tabId,
    channel,
    locks,
    onChange(next) {
      const previous = role
      role = next
      roleListeners.forEach((fn) => fn(next))
      if (next === 'leader') becomeLeader()
      else {
        if (previous === 'leader') {
          clearInterval(statusTimer)
          consumer?.disconnect()
          consumer = null
          for (const entry of remote.values()) entry.subscription = null
        }
        log.add('follower', 'this tab follows; the leader tab holds the WebSocket')
        announce()
      }
    },
  })

  globalThis.addEventListener?.('pagehide', () => channel.postMessage({ type: 'bye', tab: tabId }))

  return {
    tabId,
    log,
    electionMode: election.mode,
    role: () => role,
    status: () => status,
    onRole(fn) {
      roleListeners.add(fn)
      return () => roleListeners.delete(fn)
    },
    onStatus(fn) {
      statusListeners.add(fn)
      return () => statusListeners.delete(fn)
    },
    // Subscribes this tab to `identifier` (e.g. {channel: 'TodosChannel'}); returns the
    // function that unsubscribes.
    subscribe(identifier, handlers) {
      const key = keyOf(identifier)
      let entry = local.get(key)
      if (!entry) {
        entry = { identifier, handlers: new Set() }
        local.set(key, entry)
      }
      entry.handlers.add(handlers)
      if (role === 'leader') {
        const sub = leaderSubscribe(key, identifier)
        if (sub.subscription && status === 'connected') handlers.confirmed?.()
      } else {
        channel.postMessage({ type: 'subscribe', tab: tabId, key, identifier })
      }
      return () => {
        entry.handlers.delete(handlers)
        if (entry.handlers.size > 0) return
        local.delete(key)
        if (role === 'leader') leaderRelease(key)
        else channel.postMessage({ type: 'unsubscribe', tab: tabId, key })
      }
    },
    close() {
      election.stop()
      clearInterval(statusTimer)
      consumer?.disconnect()
      channel.postMessage({ type: 'bye', tab: tabId })
      channel.close()
    },
  }
}
