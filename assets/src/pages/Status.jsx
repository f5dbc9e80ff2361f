// Live facts about the running server, passed as props.
import { Head, router } from '@inertiajs/react'

function formatUptime(seconds) {
  const d = Math.floor(seconds / 86400)
  const h = Math.floor((seconds % 86400) / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  const parts = []
  if (d) parts.push(`${d}d`)
  if (d || h) parts.push(`${h}h`)
  if (d || h || m) parts.push(`${m}m`)
  parts.push(`${s}s`)
  return parts.join(' ')
}

export default function Status({ status }) {
  const stores = Object.entries(status.stores)
  const healthy = stores.every(([, state]) => state === 'ok')
  return (
    <>
      <Head title="Status" />
      <div className="page-head">
        <h1>Server status</h1>
        <button type="button" className="button secondary" onClick={() => router.reload({ only: ['status'] })}>
          Refresh
        </button>
      </div>
      <p className={healthy ? 'badge ok' : 'badge bad'} data-testid="overall">
        {healthy ? 'All systems operational' : 'Degraded'}
      </p>
      <dl className="facts">
        <div>
          <dt>Version</dt>
          <dd>{status.version}</dd>
        </div>
        <div>
          <dt>Uptime</dt>
          <dd>{formatUptime(status.uptime_seconds)}</dd>
        </div>
        <div>
          <dt>Environment</dt>
          <dd>{status.env}</dd>
        </div>
        <div>
          <dt>Open WebSockets</dt>
          <dd data-testid="websockets">{status.websockets}</dd>
        </div>
      </dl>
      <h2>Stores</h2>
      <ul className="stores">
        {stores.map(([name, state]) => (
          <li key={name}>
            <span className="store-name">{name}</span>
            <span className={state === 'ok' ? 'badge ok' : 'badge bad'}>{state}</span>
          </li>
        ))}
      </ul>
    </>
  )
}
