// The recurring tasks of the schedule file: when each runs, what it enqueues, its last run
// (a link to that job) and the next; "Run now" enqueues one run at once. Live: the
// `Admin:jobs` markers reload the list.
import { Head, Link } from '@inertiajs/react'
import { useConfirmedPost } from '../../../components/Confirm.jsx'
import LiveIndicator from '../../../components/LiveIndicator.jsx'
import { JobsNav } from '../../../components/AdminNav.jsx'
import { Ago } from '../../../components/Time.jsx'
import { formatExact } from '../../../admin/format.js'
import { useSyncMarkers } from '../../../realtime/react.jsx'

export default function JobsRecurring({ tasks }) {
  useSyncMarkers('Admin', 'jobs', ['tasks'])
  const { ask, sending, panel } = useConfirmedPost()
  return (
    <>
      <Head title="Recurring tasks" />
      <div className="page-head">
        <h1>Recurring tasks</h1>
        <LiveIndicator />
      </div>
      <JobsNav component="Admin/Jobs/Recurring" />
      {tasks.length === 0 ? (
        <div className="empty card" data-testid="tasks-empty">
          <p>No recurring tasks.</p>
          <p className="hint">
            They come from the schedule file given with <code>--recurring-schedule FILE</code> (TOML, or a Solid Queue{' '}
            <code>recurring.yml</code>): one entry per task with a job, a cron or “every 30 seconds” schedule and its
            arguments. See “Jobs” in the README.
          </p>
        </div>
      ) : (
        <div className="table-scroll">
          <table className="data tasks" data-testid="tasks">
            <thead>
              <tr>
                <th>Task</th>
                <th>Schedule</th>
                <th>Job</th>
                <th>Last run</th>
                <th>Next run</th>
                <th>
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tasks.map((t) => (
                <tr key={t.key} data-testid="task-row" data-task-key={t.key}>
                  <td className="task-key">
                    <span className="mono">{t.key}</span>
                    {t.description && <span className="muted small block">{t.description}</span>}
                  </td>
                  <td className="task-schedule">
                    <code className="schedule">{t.schedule}</code>
                  </td>
                  <td className="task-job">
                    <span className="job-class">{t.class_name ?? '—'}</span>
                    <span className="muted small block">
                      {t.queue_name ?? 'default queue'}
                      {t.priority ? ` · priority ${t.priority}` : ''}
                    </span>
                    {t.arguments && (
                      <code className="job-args" title={t.arguments}>
                        {t.arguments}
                      </code>
                    )}
                  </td>
                  <td className="task-last nowrap">
                    <span className="unit">Last </span>
                    {t.last_run_at ? (
                      <>
                        <Ago at={t.last_run_at} />
                        {t.last_job_id != null && (
                          <Link href={`/admin/jobs/${t.last_job_id}`} className="block small">
                            job #{t.last_job_id}
                          </Link>
                        )}
                      </>
                    ) : (
                      <span className="muted">never</span>
                    )}
                  </td>
                  <td className="task-next nowrap">
                    <span className="unit">Next </span>
                    <Ago at={t.next_run_at} />
                    {t.next_run_at && <span className="muted small block">{formatExact(t.next_run_at)}</span>}
                  </td>
                  <td className="actions-cell">
                    <button
                      type="button"
                      className="button small secondary"
                      disabled={sending}
                      data-action="run"
                      onClick={() =>
                        ask({
                          question: `Run “${t.key}” now?`,
                          detail: `This enqueues one ${t.class_name ?? 'job'} at once; the schedule stays as it is.`,
                          confirmLabel: 'Run now',
                          url: `/admin/jobs/recurring/${encodeURIComponent(t.key)}/run`,
                        })
                      }
                    >
                      Run now
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {panel}
    </>
  )
}
