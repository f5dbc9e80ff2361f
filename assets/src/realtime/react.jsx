// React bindings: one shared cable per tab, created lazily on first use, plus hooks and the
// small UI pieces every real-time page shows (role badge, connection status, event log).
import { createCable } from '@anycable/web'
import { router, usePage } from '@inertiajs/react'
import { useEffect, useEffectEvent, useState, useSyncExternalStore } from 'react'
import { createSharedCable } from './sharedCable.js'
import { createEventLog } from './eventLog.js'
import { coalesce, createSyncSubscriber } from './syncMarkers.js'

let shared = null

// The client's own warnings and errors (a refused subscription, a lost history) are expected
// events here, handled by the pages: they go to the event log, not the console.
const cableLogger = (log) => ({
  debug() {},
  info() {},
  warn: (msg) => log.add('cable', String(msg)),
  error: (msg) => log.add('cable', String(msg)),
})

export function realtime() {
  if (!shared) {
    const log = createEventLog()
    const wsUrl = (path) => `${window.location.protocol.replace('http', 'ws')}//${window.location.host}${path}`
    shared = createSharedCable({
      log,
      createCable: (url) => createCable(wsUrl(url), { protocol: 'actioncable-v1-ext-json', logger: cableLogger(log) }),
    })
  }
  return shared
}

// Background reloads (sync markers, lost histories) that fail on the network — the
// connection dropped while one was in flight — are not errors of the page: each runs again,
// once, when the cable is live again (by then it may also have replayed what it missed).
const retries = new Map()
let retrying = null
function retryWhenBack(cable, key, again) {
  retries.set(key, again)
  cable.log.add('cable', 'a data reload failed on the network; it runs again once reconnected')
  if (retrying) return
  retrying = cable.onStatus((status) => {
    if (status !== 'connected' && status !== 'caught-up') return
    const due = [...retries.values()]
    retries.clear()
    retrying()
    retrying = null
    due.forEach((fn) => fn())
  })
}

// A subscription whose missed messages are gone (`history_not_found` after a reconnect)
// reloads every prop of the page, once however many subscriptions say so at the same time.
const reloadAll = coalesce((done, { cable, gone }) => {
  cable.log.add('cable', 'missed changes are gone; reloading the page data')
  router.reload({
    onHttpException: gone,
    onNetworkError: () => {
      retryWhenBack(cable, 'all', () => reloadAll({ cable, gone }))
      return false
    },
    onFinish: done,
  })
})

// subscribeToModel(model, id, props, options) -> unsubscribe; reloads only `props`
// (debounced). Options: `as` reloads these props for any marker instead (a list page
// watching single records); `gone` is where to go when the reload answers 404/403 (the
// record was deleted or the user lost access), instead of showing the error page, and
// `goneNotice` the flash notice shown there (a string, or a function returning one).
//
// A reconnect that could not replay what this record's stream missed reloads all props of
// the page (shared by all subscriptions: one reload however many of them lost their gap).
export function subscribeToModel(model, id, props, { as, gone, goneNotice } = {}) {
  const cable = realtime()
  const onHttpException = (response) => {
    if (!gone || (response.status !== 404 && response.status !== 403)) return undefined
    cable.log.add('broadcast', `${model}:${id} is gone; leaving for ${gone}`)
    router.visit(gone, {
      replace: true,
      onSuccess: () => {
        const notice = typeof goneNotice === 'function' ? goneNotice() : goneNotice
        if (notice) router.flash('notice', notice)
      },
    })
    return false
  }
  const reload = ({ only }) =>
    router.reload({
      only: as ?? only,
      onHttpException,
      onNetworkError: () => {
        retryWhenBack(cable, `${model}:${id}:${(as ?? only).join(',')}`, () => reload({ only }))
        return false
      },
    })
  const subscribe = createSyncSubscriber({
    cable,
    log: cable.log,
    reload,
    // Refused (deleted, or access lost, e.g. my sockets reconnected after I was removed):
    // reload once; the server answers with fresh props or a 404 that `gone` handles.
    onRejected: () => reload({ only: props }),
    onHistoryLost: () => reloadAll({ cable, gone: onHttpException }),
  })
  return subscribe(model, id, as ? [] : props)
}

// Subscribes while the component is mounted. Each frame goes to the latest `onReceived`
// and each `info` event (e.g. `{type: 'history_not_found'}`) to the latest `onInfo` (effect
// events), so a new closure on every render does not resubscribe.
export function useChannel(identifier, onReceived, onInfo) {
  const key = JSON.stringify(identifier)
  const received = useEffectEvent(onReceived)
  const info = useEffectEvent((event) => onInfo?.(event))
  useEffect(
    () => realtime().subscribe(JSON.parse(key), { received: (data) => received(data), info: (event) => info(event) }),
    [key],
  )
}

// Subscribes to sync markers of one record while mounted (options as subscribeToModel).
export function useSyncMarkers(model, id, props, { as, gone, goneNotice } = {}) {
  const propsKey = props.join(',')
  const asKey = as ? as.join(',') : ''
  // Read when leaving (an effect event): a notice naming the record must not resubscribe on
  // every rename.
  const latestNotice = useEffectEvent(() => goneNotice)
  useEffect(() => {
    if (id == null) return undefined
    const options = { as: asKey ? asKey.split(',') : undefined, gone, goneNotice: () => latestNotice() }
    return subscribeToModel(model, id, propsKey.split(',').filter(Boolean), options)
  }, [model, id, propsKey, asKey, gone])
}

export function useRole() {
  const [role, setRole] = useState(() => (typeof window === 'undefined' ? null : realtime().role()))
  useEffect(() => realtime().onRole(setRole), [])
  return role
}

export function useConnectionStatus() {
  const [status, setStatus] = useState(() => (typeof window === 'undefined' ? 'connecting' : realtime().status()))
  useEffect(() => realtime().onStatus(setStatus), [])
  return status
}

export function useEventLog() {
  const log = realtime().log
  return useSyncExternalStore(log.subscribe, log.entries, log.entries)
}

export function RoleBadge() {
  const role = useRole()
  if (!role) return null
  return (
    <span className={`badge badge-${role}`} data-testid="role-badge" data-role={role}>
      {role === 'leader' ? 'Leader tab' : 'Follower tab'}
    </span>
  )
}

const STATUS_LABEL = {
  connected: 'Connected',
  'caught-up': 'Caught up',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
  connecting: 'Connecting…',
}

const STATUS_TITLE = {
  'caught-up': 'Back online: every change made while the connection was down has arrived.',
  reconnecting: 'The connection dropped; changes made meanwhile will arrive when it is back.',
}

export function ConnectionStatus() {
  const status = useConnectionStatus()
  return (
    <span
      className={`status status-${status}`}
      data-testid="connection-status"
      data-status={status}
      role="status"
      title={STATUS_TITLE[status]}
    >
      <span className="status-dot" aria-hidden="true" />
      {STATUS_LABEL[status] ?? status}
    </span>
  )
}

export function EventLogPanel() {
  const entries = useEventLog()
  const [hidden, setHidden] = useState(false)
  return (
    <section className="event-log" aria-label="Event log">
      <header>
        <h2>Event log</h2>
        <button type="button" onClick={() => realtime().log.clear()}>Clear</button>
        <button type="button" onClick={() => setHidden((h) => !h)}>{hidden ? 'Show' : 'Hide'}</button>
      </header>
      {!hidden && (
        <ol data-testid="event-log">
          {entries.length === 0 && <li className="muted">No events yet.</li>}
          {entries.map((e) => (
            <li key={e.id} className={`log-${e.category}`}>
              <time>{e.at.toLocaleTimeString()}</time> <strong>{e.category}</strong> {e.message}
            </li>
          ))}
        </ol>
      )}
    </section>
  )
}

// Who is on `identifier`'s presence set while mounted (this tab counted among them):
// `[{id, name}]`, by name.
export function usePresence(identifier) {
  const key = JSON.stringify(identifier)
  const [list, setList] = useState([])
  useEffect(() => realtime().subscribe(JSON.parse(key), { presence: setList }), [key])
  return list
}

// "Here now": the people looking at the same page, live; the signed-in user is marked as
// you.
export function PresenceList({ identifier }) {
  const list = usePresence(identifier)
  const me = usePage().props.auth?.user?.id
  return (
    <section className="presence" aria-label="Here now" data-testid="presence">
      <span className="presence-label">Here now</span>
      <ul>
        {list.length === 0 && <li className="muted">Just you</li>}
        {list.map((p) => (
          <li key={p.id} data-presence-id={p.id} data-testid="present" className={p.id === me ? 'presence-me' : undefined}>
            <span className="presence-dot" aria-hidden="true" />
            {p.name ?? 'Someone'}
            {p.id === me && <span className="muted"> (you)</span>}
          </li>
        ))}
      </ul>
    </section>
  )
}
