// What the jobs pages know about job states, their addresses and the filter: the state
// tabs, the list URL of a state with a filter and a cursor, the words for a filter, which
// bulk and per-row actions a state offers, and the per-minute series of the overview charts.
import { formatExact } from './format.js'

export const STATES = ['ready', 'scheduled', 'in_progress', 'blocked', 'failed', 'finished']

export const STATE_LABELS = {
  ready: 'Ready',
  scheduled: 'Scheduled',
  in_progress: 'In progress',
  blocked: 'Blocked',
  failed: 'Failed',
  finished: 'Finished',
}

// Failed and finished jobs list newest first; the others oldest (or soonest) first: the
// next page is "older" for the first, "next" for the others.
export const NEWEST_FIRST = new Set(['failed', 'finished'])

// What "at" means in each state's list (the column heading).
export const TIME_LABELS = {
  ready: 'Enqueued',
  scheduled: 'Due',
  in_progress: 'Started',
  blocked: 'Enqueued',
  failed: 'Failed',
  finished: 'Finished',
}

export const FILTER_KEYS = ['queue', 'class', 'from', 'to']

export const EMPTY_FILTER = { queue: null, class: null, from: null, to: null }

// The filter without its empty fields ({} when none is set).
export function activeFilter(filter) {
  const out = {}
  for (const key of FILTER_KEYS) if (filter?.[key]) out[key] = filter[key]
  return out
}

export const hasFilter = (filter) => Object.keys(activeFilter(filter)).length > 0

// `/admin/jobs/failed?queue=default&cursor=…`: the list of a state with a filter (empty
// fields left out) and an optional cursor.
export function listUrl(state, filter, cursor) {
  const params = new URLSearchParams(activeFilter(filter))
  if (cursor) params.set('cursor', cursor)
  const query = params.toString()
  return `/admin/jobs/${state}${query ? `?${query}` : ''}`
}

// The `cursor` query parameter of a page address, or null.
export function cursorOf(url) {
  const query = (url ?? '').split('?')[1]
  return query ? new URLSearchParams(query).get('cursor') : null
}

// "queue=default, class=ReportJob, from 2026-12-07 20:00:00" — or null without a filter.
export function describeFilter(filter) {
  const f = activeFilter(filter)
  const parts = []
  if (f.queue) parts.push(`queue=${f.queue}`)
  if (f.class) parts.push(`class=${f.class}`)
  if (f.from) parts.push(`from ${formatExact(f.from)}`)
  if (f.to) parts.push(`to ${formatExact(f.to)}`)
  return parts.length ? parts.join(', ') : null
}

// The bulk actions of a state: failed jobs can be retried or discarded, waiting ones
// discarded; running and finished ones neither.
export function bulkActions(state) {
  if (state === 'failed') return ['retry', 'discard']
  if (state === 'ready' || state === 'scheduled' || state === 'blocked') return ['discard']
  return []
}

// The actions on one row of a state's list.
export function rowActions(state) {
  if (state === 'failed') return ['retry', 'discard']
  if (state === 'scheduled' || state === 'blocked') return ['run']
  return []
}

export const ACTION_LABELS = { retry: 'Retry', discard: 'Discard', run: 'Run now' }

// "1 job" / "120 jobs" / "10,000+ jobs" for a capped count.
export function jobsPhrase(count, formatCount) {
  const one = count && count.n === 1 && !count.more
  return `${formatCount(count)} ${one ? 'job' : 'jobs'}`
}

// The overview charts' series from the server's minutes (oldest first, zero-filled).
export function throughputSeries(minutes) {
  return {
    finished: minutes.map((m) => m.finished),
    failed: minutes.map((m) => m.failed),
  }
}

export function latencySeries(minutes) {
  return {
    avg: minutes.map((m) => m.delay_avg_ms ?? null),
    max: minutes.map((m) => m.delay_max_ms ?? null),
  }
}

// Failed / (finished + failed) per minute, in percent; null for a minute with neither.
export function failureRateSeries(minutes) {
  return minutes.map((m) => {
    const done = m.finished + m.failed
    return done ? (m.failed / done) * 100 : null
  })
}
