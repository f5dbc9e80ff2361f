// One cable connection for all tabs of a browser. The elected leader tab owns the WebSocket
// (the unmodified @anycable/web cable, speaking AnyCable's extended protocol
// `actioncable-v1-ext-json`) and relays everything it receives to the other tabs over a
// BroadcastChannel; follower tabs ask the leader to subscribe on their behalf. When the
// leader goes away the next tab takes over, opens its own socket and resubscribes everything
// the remaining tabs still need.
//
// The extended protocol makes a dropped socket lossless: the cable reconnects with its
// session id, the server restores the subscriptions, and the cable asks for the messages each
// stream missed, which arrive as ordinary messages followed by an `info` event
// `history_received` per subscription, or `history_not_found` when the gap is no longer
// kept (then the page must reload its data; subscribers get the `info` event and decide how).
//
// Presence: a tab that subscribes with a `presence(list)` handler wants to know who else is
// looking (and to be counted). The leader joins the subscription's presence set once (the
// server decides as whom; the cable's extended protocol re-joins after a reconnect), keeps
// the set from the server's join/leave events and an `info` request at every (re)connect,
// and hands the list of `{id, ...info}` to every tab that wants it.
//
// Status is the leader's truth, relayed: 'connecting' until the first socket opens,
// 'connected' while it is open, 'reconnecting' while it is down and, after a reconnect,
// until every subscription's missed messages are in; then 'caught-up' for CAUGHT_UP_MS (or
// 'connected' at once when a subscription's history was lost, or did not come within
// HISTORY_WAIT_MS). 'offline' once it has been down for OFFLINE_AFTER_MS, the browser says
// it is offline, or the cable was closed for good. The leader answers every follower that
// says hello or subscribes with the current status, so a tab that opens late never waits
// for the next change. While the socket is down the leader probes `/up` every PROBE_MS and
// asks the cable's monitor to reconnect now as soon as the server answers, instead of
// waiting for its back-off (3 s, doubling, with jitter); the monitor's own triggers (focus,
// online, visibility) stay as they are.
import { electLeader, newTabId } from './election.js'
import { createEventLog } from './eventLog.js'

const keyOf = (identifier) => JSON.stringify(identifier)

/** How long the socket may be down before the status says 'offline'. */
export const OFFLINE_AFTER_MS = 5000
/** How often the leader checks its socket and, while it is down, probes the server. */
export const PROBE_MS = 250

/** The longest wait between two reopens when the server answers `/up` but not the socket. */
export const MAX_REOPEN_MS = 5000

/** How long 'caught-up' shows before the status says 'connected' again. */
export const CAUGHT_UP_MS = 3000
/** How long after a reconnect the leader waits for the subscriptions' history answers. */
export const HISTORY_WAIT_MS = 5000

/** Resolves true when the server answers `GET url` with a 2xx, false otherwise. */
export function probeUp(url = '/up') {
  const signal = globalThis.AbortSignal?.timeout?.(2000)
  return fetch(url, { cache: 'no-store', credentials: 'same-origin', signal }).then(
    (response) => response.ok,
    () => false,
  )
}

const isRejection = (err) => err?.name === 'SubscriptionRejectedError'

// `createCable(url)` makes the leader's cable: an @anycable/web Cable (or a fake in tests)
// with `connect()`, `disconnect()`, `state`, `on(event)`, `subscribeTo(name, params)` and
// `monitor.reconnectNow()`.
export function createSharedCable({
  createCable,
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
  // key -> { identifier, handlers: Set<{received, confirmed, rejected, info, presence}>, present }
  const local = new Map()
  // Leader only: key -> { identifier, tabs: Set<tabId>, subscription, presence, joined, present }
  const remote = new Map()
  const roleListeners = new Set()
  const statusListeners = new Set()
  let cable = null
  let unbindCable = []
  let role = null
  let status = 'connecting'
  let statusTimer = null
  // Leader only: whether its socket was ever open, since when it is down, a probe in flight.
  let everConnected = false
  let downSince = null
  let probing = false
  let reopenWait = PROBE_MS
  let nextReopen = 0
  // Leader only, after a reconnect: {pending: Set<key>, lost, since} until every
  // subscription's history answer is in; then until when 'caught-up' shows.
  let catchUp = null
  let caughtUpUntil = 0

  const live = () => status === 'connected' || status === 'caught-up'
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
  const inform = (key, info) => {
    local.get(key)?.handlers.forEach((h) => h.info?.(info))
  }
  const showPresence = (key, list) => {
    const entry = local.get(key)
    if (!entry) return
    entry.present = list
    entry.handlers.forEach((h) => h.presence?.(list))
  }
  const wantsPresence = (handlers) => [...handlers].some((h) => typeof h.presence === 'function')

  // --- leader side -------------------------------------------------------------------
  const wanted = (key) => local.has(key) || (remote.get(key)?.tabs.size ?? 0) > 0
  // The end of a catch-up: 'caught-up' when every history came, else plain 'connected'.
  const finishCatchUp = () => {
    const { lost } = catchUp
    catchUp = null
    if (lost) {
      setStatus('connected')
    } else {
      caughtUpUntil = now() + CAUGHT_UP_MS
      log.add('cable', 'caught up: every missed message is in')
      setStatus('caught-up')
    }
  }
  const historyAnswered = (key, found) => {
    if (!catchUp?.pending.has(key)) return
    catchUp.pending.delete(key)
    if (!found) catchUp.lost = true
    if (catchUp.pending.size === 0) finishCatchUp()
  }
  // The set as a list, by name, to this tab and the others.
  const publishPresence = (key, entry) => {
    const list = [...entry.present].map(([id, info]) => ({ ...(info && typeof info === 'object' ? info : {}), id }))
    list.sort((a, b) => String(a.name ?? a.id).localeCompare(String(b.name ?? b.id)))
    showPresence(key, list)
    channel.postMessage({ type: 'presence', key, list })
  }
  // Joins once, then asks who is there (again after every reconnect: events sent while the
  // socket was down are not replayed).
  const startPresence = (entry) => {
    const sub = entry.subscription
    if (!entry.presence || !sub || sub.state !== 'connected') return
    if (!entry.joined) {
      entry.joined = true
      Promise.resolve(sub.presence?.join('me', {})).catch(() => {})
    }
    Promise.resolve(sub.perform('$presence:info', {})).catch(() => {})
  }
  const leaderSubscribe = (key, identifier, presence = false) => {
    let entry = remote.get(key)
    if (!entry) {
      entry = { identifier, tabs: new Set(), subscription: null, presence: false, joined: false, present: new Map() }
      remote.set(key, entry)
    }
    if (presence && !entry.presence) {
      entry.presence = true
      startPresence(entry)
    }
    if (entry.subscription || !cable) return entry
    const { channel: channelName, ...params } = identifier
    const sub = cable.subscribeTo(channelName, params)
    entry.subscription = sub
    // A new subscription (a new leader's cable) joins afresh.
    entry.joined = false
    sub.on('message', (data) => {
      log.add('broadcast', `${channelName}: message received`)
      deliver(key, data)
      channel.postMessage({ type: 'message', key, data })
    })
    sub.on('connect', () => {
      confirm(key, true)
      channel.postMessage({ type: 'confirmed', key })
      startPresence(entry)
    })
    sub.on('presence', (event) => {
      if (event?.type === 'info') {
        entry.present = new Map((event.records ?? []).map((r) => [String(r.id), r.info]))
      } else if (event?.type === 'join') {
        entry.present.set(String(event.id), event.info)
        log.add('presence', `${event.info?.name ?? event.id} is here`)
      } else if (event?.type === 'leave') {
        const info = entry.present.get(String(event.id))
        entry.present.delete(String(event.id))
        log.add('presence', `${info?.name ?? event.id} left`)
      } else {
        return
      }
      publishPresence(key, entry)
    })
    sub.on('info', (info) => {
      if (info?.type === 'history_not_found') log.add('cable', `${channelName}: missed messages are gone; reloading`)
      inform(key, info)
      channel.postMessage({ type: 'info', key, info })
      if (info?.type === 'history_received') historyAnswered(key, true)
      else if (info?.type === 'history_not_found') historyAnswered(key, false)
    })
    sub.on('close', (err) => {
      if (!isRejection(err) || entry.subscription !== sub) return
      log.add('cable', `${channelName}: subscription rejected`)
      confirm(key, false)
      channel.postMessage({ type: 'rejected', key })
      historyAnswered(key, true)
      entry.subscription = null
      remote.delete(key)
    })
    return entry
  }
  const leaderRelease = (key) => {
    const entry = remote.get(key)
    if (!entry || wanted(key)) return
    const sub = entry.subscription
    entry.subscription = null
    remote.delete(key)
    catchUp?.pending.delete(key)
    sub?.disconnect()
  }
  const onConnect = ({ reconnect } = {}) => {
    everConnected = true
    downSince = null
    reopenWait = PROBE_MS
    nextReopen = 0
    const keys = [...remote].filter(([, e]) => e.subscription).map(([key]) => key)
    if (reconnect && keys.length > 0) {
      // Not live until the missed messages are in.
      catchUp = { pending: new Set(keys), lost: false, since: now() }
      setStatus('reconnecting')
    } else {
      catchUp = null
      setStatus('connected')
    }
  }
  // Leader only: derives the status from the cable and, while it is down, has it reconnect
  // the moment the server answers `/up`. A reconnect that does not stick (the server answers
  // /up but refuses the socket) doubles the wait before the next one, up to MAX_REOPEN_MS.
  const checkLink = () => {
    if (!cable) return
    if (cable.state === 'connected') {
      if (catchUp) {
        if (now() - catchUp.since >= HISTORY_WAIT_MS) {
          log.add('cable', 'no history answer in time; live from here on')
          catchUp.lost = true
          finishCatchUp()
        }
        return
      }
      if (status === 'caught-up' && now() < caughtUpUntil) return
      setStatus('connected')
      return
    }
    catchUp = null
    if (downSince === null) downSince = now()
    // Closed on purpose (the server said not to reconnect, or the tab let go): no probing.
    if (cable.state === 'closed' || cable.monitor?.state === 'closed') return setStatus('offline')
    if (!online() || now() - downSince >= OFFLINE_AFTER_MS) setStatus('offline')
    else setStatus(everConnected ? 'reconnecting' : 'connecting')
    // A socket that is still opening gets to finish.
    if (probing || now() < nextReopen || cable.state === 'connecting') return
    probing = true
    const mine = cable
    Promise.resolve(probe())
      .then((up) => {
        if (!up || cable !== mine || mine.state !== 'disconnected') return
        log.add('cable', 'the server answers again; reconnecting now')
        nextReopen = now() + reopenWait
        reopenWait = Math.min(reopenWait * 2, MAX_REOPEN_MS)
        if (mine.monitor) mine.monitor.reconnectNow()
        else mine.connect().catch(() => {})
      })
      .catch(() => {})
      .finally(() => {
        probing = false
      })
  }
  const becomeLeader = () => {
    log.add('leader', 'this tab is the leader and holds the WebSocket')
    everConnected = false
    downSince = null
    catchUp = null
    cable = createCable(url)
    unbindCable = [
      cable.on('connect', onConnect),
      cable.on('disconnect', checkLink),
      cable.on('close', checkLink),
    ]
    cable.connect().catch(() => {})
    for (const [key, { identifier, handlers }] of local) leaderSubscribe(key, identifier, wantsPresence(handlers))
    // Followers answer with what they need.
    channel.postMessage({ type: 'leader', tab: tabId })
    statusTimer = setInterval(checkLink, PROBE_MS)
  }
  const stopLeading = () => {
    clearInterval(statusTimer)
    unbindCable.forEach((unbind) => unbind?.())
    unbindCable = []
    cable?.disconnect()
    cable?.monitor?.dispose?.()
    cable = null
    catchUp = null
  }

  // --- follower side -----------------------------------------------------------------
  const announce = () => {
    const keys = [...local].map(([key, { identifier, handlers }]) => ({
      key,
      identifier,
      presence: wantsPresence(handlers),
    }))
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
      case 'info':
        if (role === 'follower') inform(msg.key, msg.info)
        break
      case 'presence':
        if (role === 'follower' && Array.isArray(msg.list)) showPresence(msg.key, msg.list)
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
          for (const { key, identifier, presence } of msg.subscriptions ?? []) {
            const entry = leaderSubscribe(key, identifier, presence === true)
            entry.tabs.add(msg.tab)
            if (entry.subscription && live()) channel.postMessage({ type: 'confirmed', key })
            if (presence === true && entry.present.size > 0) publishPresence(key, entry)
          }
          postStatus()
        }
        break
      case 'subscribe':
        if (role === 'leader') {
          const entry = leaderSubscribe(msg.key, msg.identifier, msg.presence === true)
          entry.tabs.add(msg.tab)
          if (msg.presence === true && entry.present.size > 0) publishPresence(msg.key, entry)
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
          stopLeading()
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
    // Subscribes this tab to `identifier` (e.g. {channel: 'TodosChannel'}) with handlers
    // `{received(data), confirmed(), rejected(), info({type}), presence(list)}` (with
    // `presence`, the tab is counted in the subscription's presence set and gets its list,
    // `[{id, name}]`, on every change); returns the function that unsubscribes.
    subscribe(identifier, handlers) {
      const key = keyOf(identifier)
      let entry = local.get(key)
      if (!entry) {
        entry = { identifier, handlers: new Set(), present: null }
        local.set(key, entry)
      }
      entry.handlers.add(handlers)
      const presence = typeof handlers.presence === 'function'
      if (presence && entry.present) handlers.presence(entry.present)
      if (role === 'leader') {
        const sub = leaderSubscribe(key, identifier, presence)
        if (sub.subscription?.state === 'connected') handlers.confirmed?.()
      } else {
        channel.postMessage({ type: 'subscribe', tab: tabId, key, identifier, presence })
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
      stopLeading()
      channel.postMessage({ type: 'bye', tab: tabId })
      channel.close()
    },
  }
}
