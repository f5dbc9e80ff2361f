// The jobs in one state, filtered by queue, job class and a time range (all in the address),
// a page at a time (keyset: "Older →" / "Next →" follow `next_cursor`). Failed jobs can be
// retried or discarded, one or all matching; waiting ones discarded; scheduled and blocked
// ones run now. Live: the `Admin:jobs` markers reload the counts and the page shown.
import { Head, Link, router, usePage } from '@inertiajs/react'
import { useState } from 'react'
import { useConfirmedPost } from '../../../components/Confirm.jsx'
import LiveIndicator from '../../../components/LiveIndicator.jsx'
import { JobsNav } from '../../../components/AdminNav.jsx'
import StateTabs from '../../../components/StateTabs.jsx'
import { Ago } from '../../../components/Time.jsx'
import { formatCount, formatExact, formatNumber, fromLocalInput, toLocalInput } from '../../../admin/format.js'
import {
  ACTION_LABELS,
  NEWEST_FIRST,
  STATE_LABELS,
  TIME_LABELS,
  activeFilter,
  bulkActions,
  cursorOf,
  describeFilter,
  hasFilter,
  jobsPhrase,
  listUrl,
  rowActions,
} from '../../../admin/jobs.js'
import { useSyncMarkers } from '../../../realtime/react.jsx'

const PROPS = ['counts', 'jobs', 'next_cursor', 'scan_limited', 'scanned_to']

const EMPTY = {
  ready: 'Nothing is waiting: every queue is drained.',
  scheduled: 'No jobs are scheduled for later.',
  in_progress: 'No job is running right now.',
  blocked: 'No jobs are waiting on a concurrency limit.',
  failed: 'No failed jobs. Everything that ran, worked.',
  finished: 'No finished jobs are kept right now.',
}

// A select of names with "all" first; a value from the address that is not among the
// choices (a queue gone since) stays selectable.
function NameSelect({ id, label, all, names, value, onChange }) {
  const choices = value && !names.includes(value) ? [value, ...names] : names
  return (
    <div className="filter-field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value ?? ''} onChange={(e) => onChange(e.target.value || null)}>
        <option value="">{all}</option>
        {choices.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
    </div>
  )
}

function FilterBar({ state, filter, queueNames, classNames }) {
  const [queue, setQueue] = useState(filter.queue)
  const [cls, setCls] = useState(filter.class)
  const [from, setFrom] = useState(toLocalInput(filter.from))
  const [to, setTo] = useState(toLocalInput(filter.to))
  const apply = (event) => {
    event.preventDefault()
    router.get(listUrl(state, { queue, class: cls, from: fromLocalInput(from), to: fromLocalInput(to) }))
  }
  const filtered = hasFilter(filter)
  return (
    <form className="filter-bar card" onSubmit={apply} aria-label="Filter jobs" data-testid="filter-bar">
      <NameSelect id="filter-queue" label="Queue" all="All queues" names={queueNames} value={queue} onChange={setQueue} />
      <NameSelect id="filter-class" label="Job class" all="All job classes" names={classNames} value={cls} onChange={setCls} />
      <div className="filter-field">
        <label htmlFor="filter-from">From</label>
        <input id="filter-from" type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
      </div>
      <div className="filter-field">
        <label htmlFor="filter-to">To</label>
        <input id="filter-to" type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
      </div>
      <div className="filter-buttons">
        <button type="submit" className="button">
          Apply
        </button>
        {filtered && (
          <Link href={listUrl(state, {})} className="button secondary" data-testid="clear-filters">
            Clear
          </Link>
        )}
      </div>
    </form>
  )
}

function JobRow({ job, state, ask, sending }) {
  const actions = rowActions(state)
  const request = (action) => {
    const label = `job ${job.id} (${job.class_name})`
    if (action === 'retry')
      return { question: `Retry ${label}?`, detail: 'It goes back to its queue as ready.', confirmLabel: 'Retry' }
    if (action === 'discard')
      return { question: `Discard ${label}?`, detail: 'It is deleted for good.', confirmLabel: 'Discard', danger: true }
    return { question: `Run ${label} now?`, detail: 'It becomes ready at once, ahead of its schedule or limit.', confirmLabel: 'Run now' }
  }
  return (
    <tr data-testid="job-row" data-job-id={job.id}>
      <td className="job-id">
        <Link href={`/admin/jobs/${job.id}`}>#{job.id}</Link>
      </td>
      <td className="job-main">
        <span className="job-class">{job.class_name}</span>
        {job.error && (
          <span className="job-error" title={job.error.message}>
            <strong>{job.error.exception_class}</strong> {job.error.message}
          </span>
        )}
        {job.arguments && (
          <code className="job-args" title={job.arguments}>
            {job.arguments}
          </code>
        )}
      </td>
      <td className="job-queue">{job.queue_name}</td>
      <td className="job-time nowrap">
        <Ago at={job.at} />
      </td>
      <td className="job-runs num">
        {formatNumber(job.executions)}
        <span className="unit"> {job.executions === 1 ? 'run' : 'runs'}</span>
      </td>
      {actions.length > 0 && (
        <td className="actions-cell">
          {actions.map((action) => (
            <button
              key={action}
              type="button"
              className={action === 'discard' ? 'button small secondary danger' : 'button small secondary'}
              disabled={sending}
              data-action={action}
              onClick={() => ask({ ...request(action), url: `/admin/jobs/${job.id}/${action}` })}
            >
              {ACTION_LABELS[action]}
            </button>
          ))}
        </td>
      )}
    </tr>
  )
}

function BulkActions({ state, count, filter, ask, sending }) {
  const actions = bulkActions(state)
  if (actions.length === 0 || !count || count.n === 0) return null
  const what = jobsPhrase(count, formatCount)
  const scope = describeFilter(filter)
  const matching = scope ? `${what} matching ${scope}` : `all ${what} ${STATE_LABELS[state].toLowerCase()}`
  const data = { ...{ queue: null, class: null, from: null, to: null }, ...activeFilter(filter) }
  return (
    <div className="bulk-actions" data-testid="bulk-actions">
      <span className="muted small">{scope ? `${what} match` : `${what} ${STATE_LABELS[state].toLowerCase()}`}</span>
      {actions.includes('retry') && (
        <button
          type="button"
          className="button small secondary"
          disabled={sending}
          data-action="retry_all"
          onClick={() =>
            ask({
              question: `Retry ${matching}?`,
              detail: 'They go back to their queues as ready.',
              confirmLabel: `Retry ${what}`,
              url: `/admin/jobs/${state}/retry_all`,
              data,
            })
          }
        >
          Retry all matching
        </button>
      )}
      <button
        type="button"
        className="button small secondary danger"
        disabled={sending}
        data-action="discard_all"
        onClick={() =>
          ask({
            question: `Discard ${matching}?`,
            detail: 'They are deleted for good.',
            confirmLabel: `Discard ${what}`,
            danger: true,
            url: `/admin/jobs/${state}/discard_all`,
            data,
          })
        }
      >
        Discard all matching
      </button>
    </div>
  )
}

export default function JobsList({
  state,
  counts,
  filter,
  queue_names: queueNames = [],
  class_names: classNames = [],
  jobs,
  next_cursor: nextCursor,
  scan_limited: scanLimited,
  scanned_to: scannedTo,
}) {
  useSyncMarkers('Admin', 'jobs', PROPS)
  const { url } = usePage()
  const { ask, sending, panel } = useConfirmedPost()
  const filtered = hasFilter(filter)
  const cursor = cursorOf(url)
  const newest = NEWEST_FIRST.has(state)
  const label = STATE_LABELS[state]
  const withActions = rowActions(state).length > 0
  const reached = scannedTo ?? (jobs.length ? jobs[jobs.length - 1].at : null)
  return (
    <>
      <Head title={`${label} jobs`} />
      <div className="page-head">
        <h1>{label} jobs</h1>
        <LiveIndicator />
      </div>
      <JobsNav component="Admin/Jobs/List" />
      <StateTabs counts={counts} active={state} filter={filter} />
      <FilterBar key={url} state={state} filter={filter} queueNames={queueNames} classNames={classNames} />
      <BulkActions state={state} count={counts?.[state]} filter={filter} ask={ask} sending={sending} />
      {jobs.length > 0 && (
        <div className="table-scroll">
          <table className="data jobs" data-testid="jobs">
            <thead>
              <tr>
                <th>Job</th>
                <th>Class</th>
                <th>Queue</th>
                <th>{TIME_LABELS[state]}</th>
                <th className="num" title="Executions">
                  Runs
                </th>
                {withActions && (
                  <th>
                    <span className="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {jobs.map((job) => (
                <JobRow key={job.id} job={job} state={state} ask={ask} sending={sending} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {jobs.length === 0 && !scanLimited && (
        <div className="empty card" data-testid="jobs-empty">
          {filtered ? (
            <>
              <p>No jobs match these filters{cursor ? ' further on' : ''}.</p>
              <Link href={listUrl(state, {})} className="button secondary">
                Clear filters
              </Link>
            </>
          ) : cursor ? (
            <p>No more {label.toLowerCase()} jobs.</p>
          ) : (
            <p>
              {state === 'failed' && (
                <span className="empty-mark" aria-hidden="true">
                  ✓
                </span>
              )}
              {EMPTY[state]}
            </p>
          )}
        </div>
      )}
      {scanLimited && (
        <p className="scan-note" data-testid="scan-limited">
          {reached ? (
            <>
              Searched up to <time dateTime={reached}>{formatExact(reached)}</time>
            </>
          ) : (
            'Searched as far as one request goes'
          )}
          ; no more matches in that range yet
          {nextCursor && ' — '}
          {nextCursor && (
            <Link href={listUrl(state, filter, nextCursor)} data-testid="search-further">
              Search further
            </Link>
          )}
        </p>
      )}
      {(cursor || (nextCursor && !scanLimited)) && (
        <div className="pager">
          {cursor ? (
            <Link href={listUrl(state, filter)} data-testid="back-to-start">
              ← Back to {newest ? 'newest' : 'first'}
            </Link>
          ) : (
            <span />
          )}
          {nextCursor && !scanLimited && (
            <Link href={listUrl(state, filter, nextCursor)} className="button secondary" data-testid="next-page">
              {newest ? 'Older →' : 'Next →'}
            </Link>
          )}
        </div>
      )}
      {panel}
    </>
  )
}
