// Leader election among the tabs of one browser. With Web Locks (navigator.locks) the tab
// holding an exclusive lock is the leader; the browser hands the lock to the next tab the
// moment the holder closes or crashes. Without Web Locks it falls back to the seed design's
// protocol over BroadcastChannel: discover, a 500 ms election, the leader pings every 2 s,
// followers give up on it after 5 s of silence, and the lowest tab id wins.
export const ELECTION_MS = 500
export const PING_MS = 2000
export const TIMEOUT_MS = 5000

export function newTabId() {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
}

// onChange(role) is called with 'leader' or 'follower' whenever this tab's role changes.
export function electLeader({ name, tabId, channel, onChange, locks = globalThis.navigator?.locks }) {
  let role = null
  let stopped = false
  const set = (next) => {
    if (!stopped && next !== role) {
      role = next
      onChange(next)
    }
  }

  if (locks && typeof locks.request === 'function') {
    const abort = new AbortController()
    let release
    set('follower')
    locks
      .request(name, { mode: 'exclusive', signal: abort.signal }, () => {
        set('leader')
        // Held until the tab goes away or stop() releases it.
        return new Promise((resolve) => {
          release = resolve
        })
      })
      .catch(() => {})
    return {
      mode: 'locks',
      role: () => role,
      stop() {
        stopped = true
        abort.abort()
        release?.()
      },
    }
  }

  // Fallback: the seed's discover / ping protocol.
  const candidates = new Set([tabId])
  let lastPing = 0
  let pingTimer = null
  let electionTimer = null
  let watchTimer = null

  const startElection = () => {
    candidates.clear()
    candidates.add(tabId)
    channel.postMessage({ type: 'election:discover', tab: tabId })
    clearTimeout(electionTimer)
    electionTimer = setTimeout(() => {
      if (Date.now() - lastPing < TIMEOUT_MS && role !== 'leader') return set('follower')
      const lowest = [...candidates].sort()[0]
      if (lowest === tabId) becomeLeader()
      else {
        lastPing = Date.now()
        set('follower')
      }
    }, ELECTION_MS)
  }
  const becomeLeader = () => {
    set('leader')
    clearInterval(pingTimer)
    const ping = () => channel.postMessage({ type: 'election:ping', tab: tabId })
    ping()
    pingTimer = setInterval(ping, PING_MS)
  }
  const onMessage = (event) => {
    const msg = event.data
    if (!msg || typeof msg.type !== 'string' || !msg.type.startsWith('election:')) return
    if (msg.type === 'election:discover') {
      candidates.add(msg.tab)
      channel.postMessage({ type: role === 'leader' ? 'election:ping' : 'election:here', tab: tabId })
    } else if (msg.type === 'election:here') {
      candidates.add(msg.tab)
    } else if (msg.type === 'election:ping' && msg.tab !== tabId) {
      lastPing = Date.now()
      candidates.add(msg.tab)
      if (role === 'leader' && msg.tab < tabId) {
        // Two leaders after a split: the lower id keeps it.
        clearInterval(pingTimer)
        set('follower')
      } else if (role !== 'leader') {
        set('follower')
      }
    } else if (msg.type === 'election:bye' && role !== 'leader') {
      startElection()
    }
  }
  channel.addEventListener('message', onMessage)
  watchTimer = setInterval(() => {
    if (role === 'follower' && Date.now() - lastPing > TIMEOUT_MS) startElection()
  }, 1000)
  const bye = () => role === 'leader' && channel.postMessage({ type: 'election:bye', tab: tabId })
  globalThis.addEventListener?.('pagehide', bye)
  startElection()
  return {
    mode: 'fallback',
    role: () => role,
    stop() {
      bye()
      stopped = true
      clearInterval(pingTimer)
      clearInterval(watchTimer)
      clearTimeout(electionTimer)
      channel.removeEventListener('message', onMessage)
      globalThis.removeEventListener?.('pagehide', bye)
    },
  }
}
