// One job: what it is, its arguments, the process that ran it, and every failed attempt with
// its exception and backtrace; retry, discard or run it now when its state allows. Live: the
// `Admin:jobs` markers reload it; once it is gone (discarded, or finished and cleared), back
// to the jobs overview with a notice.
import { Head, Link } from '@inertiajs/react'
import { useConfirmedPost } from '../../../components/Confirm.jsx'
import LiveIndicator from '../../../components/LiveIndicator.jsx'
import { AtTime } from '../../../components/Time.jsx'
import { formatNumber } from '../../../admin/format.js'
import { STATE_LABELS, listUrl } from '../../../admin/jobs.js'
import { useSyncMarkers } from '../../../realtime/react.jsx'

const STATE_TONE = { failed: 'bad', finished: 'ok', in_progress: 'accent', blocked: 'warn' }

function Fact({ label, children, testid }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd data-testid={testid}>{children}</dd>
    </div>
  )
}

function ProcessFact({ process }) {
  if (!process) return <span className="muted">—</span>
  return (
    <span data-testid="job-process" data-alive={process.alive ? 'true' : 'false'}>
      {process.kind} {process.name && <span className="mono">{process.name}</span>}{' '}
      <span className="muted">
        on {process.hostname ?? '?'} · pid {process.pid ?? '?'}
      </span>{' '}
      {process.alive ? (
        <Link href="/admin/jobs/processes">running</Link>
      ) : (
        <span className="badge bad" title="No longer registered: it stopped or died">
          Gone
        </span>
      )}
    </span>
  )
}

function Attempt({ attempt, open }) {
  const lines = attempt.backtrace ?? []
  return (
    <li className="attempt card" data-testid="attempt" data-attempt={attempt.number}>
      <div className="attempt-head">
        <strong>Attempt {attempt.number}</strong>
        <span className="muted small">
          <AtTime at={attempt.at} />
          {attempt.process_id != null && ` · process ${attempt.process_id}`}
        </span>
      </div>
      <p className="attempt-error">
        <span className="exception">{attempt.exception_class}</span>
        {attempt.message && <span className="attempt-message">{attempt.message}</span>}
      </p>
      {lines.length > 0 ? (
        <details open={open}>
          <summary>
            Backtrace <span className="muted">({formatNumber(lines.length)} {lines.length === 1 ? 'line' : 'lines'})</span>
          </summary>
          <pre className="code backtrace">{lines.join('\n')}</pre>
        </details>
      ) : (
        <p className="muted small">No backtrace recorded.</p>
      )}
    </li>
  )
}

export default function JobsShow({ job, actions }) {
  useSyncMarkers('Admin', 'jobs', ['job', 'actions'], {
    gone: '/admin/jobs',
    goneNotice: `Job ${job.id} is gone: it was discarded, or finished and cleared.`,
  })
  const { ask, sending, panel } = useConfirmedPost()
  const label = `job ${job.id} (${job.class_name})`
  const attempts = [...(job.attempts ?? [])].sort((a, b) => b.number - a.number)
  const tone = STATE_TONE[job.state] ?? 'muted'
  return (
    <>
      <Head title={`Job ${job.id}`} />
      <div className="page-head small">
        <Link href={listUrl(job.state, {})}>← {STATE_LABELS[job.state] ?? job.state} jobs</Link>
        <LiveIndicator />
      </div>
      <div className="job-title">
        <h1>
          {job.class_name} <span className="muted">#{job.id}</span>
        </h1>
        <span className={`badge ${tone}`} data-testid="job-state" data-state={job.state}>
          {STATE_LABELS[job.state] ?? job.state}
        </span>
      </div>
      {(actions.retry || actions.discard || actions.run_now) && (
        <div className="actions job-actions">
          {actions.retry && (
            <button
              type="button"
              className="button"
              disabled={sending}
              data-action="retry"
              onClick={() =>
                ask({ question: `Retry ${label}?`, detail: 'It goes back to its queue as ready.', confirmLabel: 'Retry', url: `/admin/jobs/${job.id}/retry` })
              }
            >
              Retry
            </button>
          )}
          {actions.run_now && (
            <button
              type="button"
              className="button"
              disabled={sending}
              data-action="run"
              onClick={() =>
                ask({
                  question: `Run ${label} now?`,
                  detail: 'It becomes ready at once, ahead of its schedule or limit.',
                  confirmLabel: 'Run now',
                  url: `/admin/jobs/${job.id}/run`,
                })
              }
            >
              Run now
            </button>
          )}
          {actions.discard && (
            <button
              type="button"
              className="button secondary danger"
              disabled={sending}
              data-action="discard"
              onClick={() =>
                ask({
                  question: `Discard ${label}?`,
                  detail: 'It is deleted for good.',
                  confirmLabel: 'Discard',
                  danger: true,
                  url: `/admin/jobs/${job.id}/discard`,
                })
              }
            >
              Discard
            </button>
          )}
        </div>
      )}
      <dl className="facts job-facts" data-testid="job-facts">
        <Fact label="Queue">
          <Link href={listUrl(job.state, { queue: job.queue_name })}>{job.queue_name}</Link>
        </Fact>
        <Fact label="Priority">{job.priority}</Fact>
        <Fact label="Executions" testid="job-executions">
          {formatNumber(job.executions)}
        </Fact>
        <Fact label="Enqueued">
          <AtTime at={job.created_at} />
        </Fact>
        {job.scheduled_at && (
          <Fact label="Scheduled for">
            <AtTime at={job.scheduled_at} />
          </Fact>
        )}
        {job.claimed_at && (
          <Fact label="Started">
            <AtTime at={job.claimed_at} />
          </Fact>
        )}
        {job.failed_at && (
          <Fact label="Failed">
            <AtTime at={job.failed_at} />
          </Fact>
        )}
        {job.finished_at && (
          <Fact label="Finished">
            <AtTime at={job.finished_at} />
          </Fact>
        )}
        {job.request_id && (
          <Fact label="Request id">
            <span className="mono">{job.request_id}</span>
          </Fact>
        )}
        {job.concurrency_key && (
          <Fact label="Concurrency key">
            <span className="mono">{job.concurrency_key}</span>
          </Fact>
        )}
        <Fact label="Process">
          <ProcessFact process={job.process} />
        </Fact>
      </dl>
      <h2>Arguments</h2>
      <pre className="code" data-testid="job-arguments">
        {job.arguments || '—'}
      </pre>
      <h2>Attempts</h2>
      {attempts.length === 0 ? (
        <p className="muted" data-testid="no-attempts">
          No failed attempts.
        </p>
      ) : (
        <ol className="attempts" data-testid="attempts">
          {attempts.map((a, i) => (
            <Attempt key={a.number} attempt={a} open={i === 0} />
          ))}
        </ol>
      )}
      {panel}
    </>
  )
}
