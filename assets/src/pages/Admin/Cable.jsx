// The cable: open sockets and their subscriptions by channel, the broadcast rate, how far the
// listener lags behind the message log, and the log itself (stored, trimmed); the last hour
// per minute. Live: the `Admin:cable` markers reload it.
import { Head } from '@inertiajs/react'
import Chart from '../../components/Chart.jsx'
import LiveIndicator from '../../components/LiveIndicator.jsx'
import { Ago } from '../../components/Time.jsx'
import { formatBytes, formatDuration, formatNumber } from '../../admin/format.js'
import { useSyncMarkers } from '../../realtime/react.jsx'

// Lag above this is shown as a warning.
const LAG_WARN_MS = 1000

function Fact({ label, children, note, testid, warn }) {
  return (
    <div className={warn ? 'warn' : undefined}>
      <dt>{label}</dt>
      <dd data-testid={testid}>{children}</dd>
      {note && <dd className="fact-note">{note}</dd>}
    </div>
  )
}

const rate = (n) => (n == null ? '—' : n < 10 ? formatNumber(Math.round(n * 10) / 10) : formatNumber(Math.round(n)))

export default function AdminCable({ cable, chart }) {
  useSyncMarkers('Admin', 'cable', ['cable', 'chart'])
  const minutes = chart?.minutes ?? []
  const subscriptions = [...cable.subscriptions].sort((a, b) => b.count - a.count || a.channel.localeCompare(b.channel))
  const totalSubs = subscriptions.reduce((n, s) => n + s.count, 0)
  const lagging = cable.listener_lag_ms != null && cable.listener_lag_ms >= LAG_WARN_MS
  return (
    <>
      <Head title="Cable" />
      <div className="page-head">
        <h1>Cable</h1>
        <LiveIndicator />
      </div>
      <dl className="facts dash-facts" data-testid="cable-facts">
        <Fact label="Sockets" testid="cable-sockets" note={`${formatNumber(totalSubs)} subscriptions`}>
          {formatNumber(cable.sockets)}
        </Fact>
        <Fact label="Broadcasts" testid="cable-rate" note="per second">
          {rate(cable.broadcasts_per_second)}
        </Fact>
        <Fact label="Listener lag" testid="cable-lag" warn={lagging} note="behind the message log">
          {cable.listener_lag_ms == null ? '—' : formatDuration(cable.listener_lag_ms)}
        </Fact>
        <Fact
          label="Stored messages"
          testid="cable-messages"
          note={
            <>
              {formatNumber(cable.streams)} streams · {formatBytes(cable.payload_bytes)}
              {cable.oldest_at && (
                <>
                  {' '}
                  · oldest <Ago at={cable.oldest_at} />
                </>
              )}
            </>
          }
        >
          {formatNumber(cable.messages)}
        </Fact>
        <Fact label="Trimmed" testid="cable-trimmed" note="old messages deleted">
          {formatNumber(cable.trimmed)}
        </Fact>
        <Fact
          label="Dropped"
          testid="cable-dropped"
          warn={cable.slow_disconnects + cable.rejected_connections > 0}
          note={`${formatNumber(cable.slow_disconnects)} slow disconnects · ${formatNumber(cable.rejected_connections)} rejected`}
        >
          {formatNumber(cable.slow_disconnects + cable.rejected_connections)}
        </Fact>
      </dl>
      <section className="dash-section">
        <div className="charts">
          <Chart
            name="broadcasts"
            title="Broadcasts and deliveries"
            unit="per minute"
            minutes={minutes}
            total
            integer
            series={[
              { key: 'broadcasts', label: 'Broadcasts', values: minutes.map((m) => m.broadcasts), tone: 'accent' },
              { key: 'delivered', label: 'Delivered', values: minutes.map((m) => m.delivered), tone: 'ok' },
            ]}
          />
          <Chart
            name="lag"
            title="Listener lag"
            unit="max per minute"
            minutes={minutes}
            format={formatDuration}
            series={[{ key: 'lag', label: 'Max lag', values: minutes.map((m) => m.lag_max_ms ?? null), tone: 'warn' }]}
          />
        </div>
      </section>
      <section className="dash-section">
        <div className="section-head">
          <h2>Subscriptions by channel</h2>
        </div>
        {subscriptions.length === 0 ? (
          <p className="empty card" data-testid="subscriptions-empty">
            No subscriptions: no page with live updates is open.
          </p>
        ) : (
          <div className="table-scroll">
            <table className="data" data-testid="cable-subscriptions">
              <thead>
                <tr>
                  <th>Channel</th>
                  <th className="num">Subscriptions</th>
                </tr>
              </thead>
              <tbody>
                {subscriptions.map((s) => (
                  <tr key={s.channel} data-testid="channel-row" data-channel={s.channel}>
                    <td className="mono">{s.channel}</td>
                    <td className="num">{formatNumber(s.count)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  )
}
