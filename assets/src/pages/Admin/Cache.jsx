// The cache store: how full it is (entries and bytes against their limits), how well it
// serves (hit ratio, evictions), each server's counters and the last hour per minute. Live:
// the `Admin:cache` markers reload it.
import { Head } from '@inertiajs/react'
import Chart from '../../components/Chart.jsx'
import LiveIndicator from '../../components/LiveIndicator.jsx'
import { Ago, Duration } from '../../components/Time.jsx'
import { formatBytes, formatNumber, formatPercent } from '../../admin/format.js'
import { useSyncMarkers } from '../../realtime/react.jsx'

// A bar of `value` against `max`; just the value without a limit.
function Usage({ label, value, max, format, testid }) {
  const ratio = max ? value / max : null
  return (
    <div className="usage" data-testid={testid}>
      <dt>{label}</dt>
      <dd>{format(value)}</dd>
      {max ? (
        <dd className="fact-note">
          <meter
            className="meter"
            min="0"
            max={max}
            value={Math.min(value, max)}
            low={max * 0.8}
            high={max * 0.95}
            optimum={0}
            aria-label={`${label}: ${formatPercent(ratio)} of the limit`}
          >
            {formatPercent(ratio)}
          </meter>
          {formatPercent(ratio)} of {format(max)}
        </dd>
      ) : (
        <dd className="fact-note">no limit</dd>
      )}
    </div>
  )
}

export default function AdminCache({ cache, chart }) {
  useSyncMarkers('Admin', 'cache', ['cache', 'chart'])
  const minutes = chart?.minutes ?? []
  const lookups = cache.hits + cache.misses
  return (
    <>
      <Head title="Cache" />
      <div className="page-head">
        <h1>Cache</h1>
        <LiveIndicator />
      </div>
      <dl className="facts dash-facts" data-testid="cache-facts">
        <Usage label="Entries" value={cache.entries} max={cache.max_entries} format={formatNumber} testid="cache-entries" />
        <Usage label="Size" value={cache.bytes} max={cache.max_size} format={formatBytes} testid="cache-bytes" />
        <div>
          <dt>Hit ratio</dt>
          <dd data-testid="cache-hit-ratio">{formatPercent(cache.hit_ratio)}</dd>
          <dd className="fact-note">
            {formatNumber(cache.hits)} hits · {formatNumber(cache.misses)} misses
            {lookups === 0 && ' (no reads yet)'}
          </dd>
        </div>
        <div>
          <dt>Evictions</dt>
          <dd data-testid="cache-evictions">{formatNumber(cache.evictions)}</dd>
          <dd className="fact-note">
            {cache.max_age_ms ? (
              <>
                entries expire after <Duration ms={cache.max_age_ms} />
              </>
            ) : (
              'no age limit'
            )}
          </dd>
        </div>
      </dl>
      <section className="dash-section">
        <div className="charts">
          <Chart
            name="cache"
            title="Reads and writes"
            unit="per minute"
            minutes={minutes}
            total
            integer
            series={[
              { key: 'hits', label: 'Hits', values: minutes.map((m) => m.hits), tone: 'ok' },
              { key: 'misses', label: 'Misses', values: minutes.map((m) => m.misses), tone: 'warn' },
              { key: 'writes', label: 'Writes', values: minutes.map((m) => m.writes), tone: 'accent' },
            ]}
          />
        </div>
      </section>
      <section className="dash-section">
        <div className="section-head">
          <h2>Servers</h2>
          <span className="muted small">counters since each server started</span>
        </div>
        {cache.servers.length === 0 ? (
          <p className="empty card">No server has reported its counters yet.</p>
        ) : (
          <div className="table-scroll">
            <table className="data" data-testid="cache-servers">
              <thead>
                <tr>
                  <th>Process</th>
                  <th className="num">Hits</th>
                  <th className="num wide-only">Misses</th>
                  <th className="num">Hit ratio</th>
                  <th className="wide-only">Started</th>
                  <th>Updated</th>
                </tr>
              </thead>
              <tbody>
                {cache.servers.map((s) => {
                  const total = s.hits + s.misses
                  return (
                    <tr key={s.pid} data-testid="cache-server-row" data-pid={s.pid}>
                      <td className="mono nowrap">pid {s.pid}</td>
                      <td className="num">{formatNumber(s.hits)}</td>
                      <td className="num wide-only">{formatNumber(s.misses)}</td>
                      <td className="num">{total ? formatPercent(s.hits / total) : '—'}</td>
                      <td className="nowrap wide-only">
                        <Ago at={s.started_at} />
                      </td>
                      <td className="nowrap">
                        <Ago at={s.updated_at} />
                      </td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  )
}
