// The queue's registered processes (every server's workers, dispatchers, schedulers), each
// with its heartbeat and the jobs it runs now. A process whose heartbeat is older than the
// alive threshold is marked stale: it is about to be pruned and its jobs released. Live: the
// `Admin:jobs` markers reload the list.
import { Head, Link } from '@inertiajs/react'
import LiveIndicator from '../../../components/LiveIndicator.jsx'
import { JobsNav } from '../../../components/AdminNav.jsx'
import { Ago, Duration } from '../../../components/Time.jsx'
import { useSyncMarkers } from '../../../realtime/react.jsx'

function Process({ p }) {
  return (
    <li className={p.stale ? 'process card stale' : 'process card'} data-testid="process-row" data-process-id={p.id} data-stale={p.stale ? 'true' : undefined}>
      <div className="process-head">
        <span className="badge kind">{p.kind}</span>
        <span className="process-name mono">{p.name || `process ${p.id}`}</span>
        {p.stale && (
          <span className="badge bad" data-testid="stale-badge" title="Its heartbeat is older than the alive threshold">
            Stale
          </span>
        )}
      </div>
      <p className="process-meta">
        <span>
          {p.hostname} · pid {p.pid}
        </span>
        <span className={p.stale ? 'danger' : undefined} data-testid="heartbeat">
          heartbeat <Duration ms={p.heartbeat_age_ms} /> ago
        </span>
        <span>
          started <Ago at={p.started_at} />
        </span>
      </p>
      {p.roles?.length > 0 && (
        <p className="process-roles small" data-testid="process-roles">
          Runs {p.roles.join(' · ')}
        </p>
      )}
      {p.running.length > 0 ? (
        <ul className="running" aria-label={`Jobs running on ${p.name || `process ${p.id}`}`}>
          {p.running.map((job) => (
            <li key={job.id}>
              <Link href={`/admin/jobs/${job.id}`}>#{job.id}</Link> <span className="job-class">{job.class_name}</span>{' '}
              <span className="muted">
                on {job.queue_name} · started <Ago at={job.claimed_at} />
              </span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted small idle">{p.kind?.toLowerCase() === 'worker' ? 'Idle: no job running.' : 'No jobs of its own.'}</p>
      )}
    </li>
  )
}

export default function JobsProcesses({ processes }) {
  useSyncMarkers('Admin', 'jobs', ['processes'])
  const stale = processes.filter((p) => p.stale).length
  const running = processes.reduce((n, p) => n + p.running.length, 0)
  return (
    <>
      <Head title="Processes" />
      <div className="page-head">
        <h1>Processes</h1>
        <LiveIndicator />
      </div>
      <JobsNav component="Admin/Jobs/Processes" processes={processes.length} />
      {processes.length === 0 ? (
        <div className="empty card" data-testid="processes-empty">
          <p>No process is registered.</p>
          <p className="hint">
            Each server registers its worker when it runs jobs (<code>--queue-threads</code> above 0) and sends a heartbeat
            every <code>--process-heartbeat-interval</code>.
          </p>
        </div>
      ) : (
        <>
          <p className="muted small">
            {processes.length} {processes.length === 1 ? 'process' : 'processes'} · {running} {running === 1 ? 'job' : 'jobs'}{' '}
            running{stale > 0 && <span className="danger"> · {stale} stale</span>}
          </p>
          <ul className="processes">
            {processes.map((p) => (
              <Process key={p.id} p={p} />
            ))}
          </ul>
        </>
      )}
    </>
  )
}
