// React bindings: one shared cable per tab, created lazily on first use, plus hooks and the
// small UI pieces every real-time page shows (role badge, connection status, event log).
import { createConsumer } from '@rails/actioncable'
import { router } from '@inertiajs/react'
import { useEffect, useEffectEvent, useState, useSyncExternalStore } from 'react'
import { createSharedCable } from './sharedCable.js'
import { createSyncSubscriber } from './syncMarkers.js'

let shared = null

export function realtime() {
  if (!shared) shared = createSharedCable({ createConsumer })
  return shared
}

// subscribeToModel(model, id, props, options) -> unsubscribe; reloads only `props`
// (debounced). Options: `as` reloads these props for any marker instead (a list page
// watching single records); `gone` is where to go when the reload answers 404/403 (the
// record was deleted or the user lost access), instead of showing the error page, and
// `goneNotice` the flash notice shown there (a string, or a function returning one).
export function subscribeToModel(model, id, props, { as, gone, goneNotice } = {}) {
  const cable = realtime()
  const reload = ({ only }) =>
    router.reload({
      only: as ?? only,
      onHttpException: (response) => {
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
      },
    })
  const subscribe = createSyncSubscriber({
    cable,
    log: cable.log,
    reload,
    // Refused (deleted, or access lost, e.g. my sockets reconnected after I was removed):
    // reload once; the server answers with fresh props or a 404 that `gone` handles.
    onRejected: () => reload({ only: props }),
  })
  return subscribe(model, id, as ? [] : props)
}

// Subscribes while the component is mounted. Each frame goes to the latest `onReceived`
// (an effect event), so a new closure on every render does not resubscribe.
export function useChannel(identifier, onReceived) {
  const key = JSON.stringify(identifier)
  const received = useEffectEvent(onReceived)
  useEffect(() => realtime().subscribe(JSON.parse(key), { received: (data) => received(data) }), [key])
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

const STATUS_LABEL = { connected: 'Connected', reconnecting: 'Reconnecting…', offline: 'Offline', connecting: 'Connecting…' }

export function ConnectionStatus() {
  const status = useConnectionStatus()
  return (
    <span className={`status status-${status}`} data-testid="connection-status" data-status={status}>
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
