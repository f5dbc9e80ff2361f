// "Live" (a green dot) while the cable is connected, else "Not live — reconnecting…" in
// amber: the figures on the page may be stale then. While a visit or a partial reload is in
// flight for longer than a moment, the dot turns into a small spinner (same size: nothing
// moves).
import { router } from '@inertiajs/react'
import { useEffect, useState } from 'react'
import { useConnectionStatus } from '../realtime/react.jsx'

export const isLive = (status) => status === 'connected' || status === 'caught-up'

// Whether an Inertia request (visit or partial reload) has been in flight for `delay` ms.
export function useInFlight(delay = 300) {
  const [busy, setBusy] = useState(false)
  useEffect(() => {
    let active = 0
    let timer = null
    const offStart = router.on('start', () => {
      active += 1
      if (timer === null) timer = setTimeout(() => setBusy(true), delay)
    })
    const offFinish = router.on('finish', () => {
      active = Math.max(0, active - 1)
      if (active > 0) return
      clearTimeout(timer)
      timer = null
      setBusy(false)
    })
    return () => {
      offStart()
      offFinish()
      clearTimeout(timer)
    }
  }, [delay])
  return busy
}

export function LiveBadge({ status, busy }) {
  const live = isLive(status)
  const label = live ? 'Live' : status === 'connecting' ? 'Not live — connecting…' : 'Not live — reconnecting…'
  return (
    <span
      className={`live ${live ? 'live-on' : 'live-off'}${busy ? ' live-busy' : ''}`}
      data-testid="live-indicator"
      data-live={live ? 'true' : 'false'}
      data-busy={busy ? 'true' : undefined}
      role="status"
      title={live ? 'Figures update as they change.' : 'The figures on this page may be stale until the connection is back.'}
    >
      <span className="live-dot" aria-hidden="true" />
      {label}
      {!live && <span className="visually-hidden"> The figures may be stale.</span>}
      {busy && <span className="visually-hidden"> Updating…</span>}
    </span>
  )
}

export default function LiveIndicator() {
  const status = useConnectionStatus()
  const busy = useInFlight()
  return <LiveBadge status={status} busy={busy} />
}
