// The jobs dashboard: counts per state (links to the lists), the queues with their backlog,
// latency and a pause switch, and three charts of the last hour. Live: the `Admin:jobs`
// markers reload every prop.
import { Head, Link } from '@inertiajs/react'
import Chart from '../../../components/Chart.jsx'
import { useConfirmedPost } from '../../../components/Confirm.jsx'
import LiveIndicator from '../../../components/LiveIndicator.jsx'
import { JobsNav } from '../../../components/AdminNav.jsx'
import StateTabs from '../../../components/StateTabs.jsx'
import { formatDuration, formatNumber } from '../../../admin/format.js'
import { failureRateSeries, latencySeries, listUrl, throughputSeries } from '../../../admin/jobs.js'
import { useSyncMarkers } from '../../../realtime/react.jsx'

const PROPS = ['counts', 'queues', 'chart', 'processes']

// A queue whose oldest ready job has waited this long is highlighted.
const SLOW_MS = 60_000

function QueuesTable({ queues, ask, sending }) {
  if (queues.length === 0) {
    return (
      <p className="empty card" data-testid="queues-empty">
        No queues yet: a queue appears when its first job is enqueued.
      </p>
    )
  }
  const toggle = (q) =>
    ask(
      q.paused
        ? {
            question: `Resume queue “${q.name}”?`,
            detail: 'Workers start taking its jobs again at once.',
            confirmLabel: 'Resume',
            url: `/admin/jobs/queues/${encodeURIComponent(q.name)}/resume`,
          }
        : {
            question: `Pause queue “${q.name}”?`,
            detail: `Workers stop taking its ${formatNumber(q.ready)} ready jobs (and any that arrive) until it is resumed; running jobs finish.`,
            confirmLabel: 'Pause',
            danger: true,
            url: `/admin/jobs/queues/${encodeURIComponent(q.name)}/pause`,
          },
    )
  return (
    <div className="table-scroll">
      <table className="data queues" data-testid="queues">
        <thead>
          <tr>
            <th>Queue</th>
            <th className="num">Ready</th>
            <th className="num wide-only">In progress</th>
            <th className="num wide-only">Scheduled</th>
            <th className="num" title="How long the oldest ready job has waited">
              Latency
            </th>
            <th>
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {queues.map((q) => (
            <tr key={q.name} data-testid="queue-row" data-queue={q.name} data-paused={q.paused ? 'true' : undefined}>
              <td className="queue-name">
                <Link href={listUrl('ready', { queue: q.name })}>{q.name}</Link>
                {q.paused && (
                  <span className="badge warn" data-testid="paused-badge">
                    Paused
                  </span>
                )}
              </td>
              <td className="num q-ready">
                {formatNumber(q.ready)}
                <span className="unit"> ready</span>
              </td>
              <td className="num wide-only">{formatNumber(q.in_progress)}</td>
              <td className="num wide-only">{formatNumber(q.scheduled)}</td>
              <td className={q.latency_ms != null && q.latency_ms >= SLOW_MS ? 'num q-latency slow' : 'num q-latency'}>
                <span className="unit">latency </span>
                {q.latency_ms == null ? <span className="muted">—</span> : formatDuration(q.latency_ms)}
              </td>
              <td className="actions-cell">
                <button
                  type="button"
                  className="button small secondary"
                  disabled={sending}
                  data-action={q.paused ? 'resume' : 'pause'}
                  onClick={() => toggle(q)}
                >
                  {q.paused ? 'Resume' : 'Pause'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

export default function JobsOverview({ counts, queues, chart, processes }) {
  useSyncMarkers('Admin', 'jobs', PROPS)
  const { ask, sending, panel } = useConfirmedPost()
  const minutes = chart?.minutes ?? []
  const throughput = throughputSeries(minutes)
  const latency = latencySeries(minutes)
  const pct = (v) => `${formatNumber(Math.round(v * 10) / 10)}%`
  const paused = queues.filter((q) => q.paused).length
  return (
    <>
      <Head title="Jobs" />
      <div className="page-head">
        <h1>Jobs</h1>
        <LiveIndicator />
      </div>
      <JobsNav component="Admin/Jobs/Overview" processes={processes} />
      <StateTabs counts={counts} />
      <section className="dash-section">
        <div className="section-head">
          <h2>Queues</h2>
          <span className="muted small">
            {queues.length} {queues.length === 1 ? 'queue' : 'queues'}
            {paused > 0 && ` · ${paused} paused`}
          </span>
        </div>
        <QueuesTable queues={queues} ask={ask} sending={sending} />
      </section>
      <section className="dash-section">
        <div className="section-head">
          <h2>Last hour</h2>
          <span className="muted small">all servers, per minute</span>
        </div>
        <div className="charts">
          <Chart
            name="throughput"
            title="Throughput"
            unit="per minute"
            kind="bars"
            minutes={minutes}
            total
            integer
            series={[
              { key: 'finished', label: 'Finished', values: throughput.finished, tone: 'ok' },
              { key: 'failed', label: 'Failed', values: throughput.failed, tone: 'bad' },
            ]}
          />
          <Chart
            name="latency"
            title="Enqueue → start"
            minutes={minutes}
            format={formatDuration}
            series={[
              { key: 'avg', label: 'Average', values: latency.avg, tone: 'accent' },
              { key: 'max', label: 'Max', values: latency.max, tone: 'warn', dashed: true },
            ]}
          />
          <Chart
            name="failure-rate"
            title="Failure rate"
            minutes={minutes}
            format={pct}
            series={[{ key: 'rate', label: 'Failed', values: failureRateSeries(minutes), tone: 'bad' }]}
          />
        </div>
      </section>
      {panel}
    </>
  )
}
