// Unit tests (vitest) for the jobs pages' addresses, filter words, actions and chart series.
import { describe, expect, it } from 'vitest'
import { formatCount } from './format.js'
import {
  activeFilter,
  bulkActions,
  cursorOf,
  describeFilter,
  failureRateSeries,
  hasFilter,
  jobsPhrase,
  latencySeries,
  listUrl,
  rowActions,
  throughputSeries,
} from './jobs.js'

describe('listUrl', () => {
  it('is the bare state path without a filter', () => {
    expect(listUrl('failed', {})).toBe('/admin/jobs/failed')
    expect(listUrl('ready', { queue: null, class: null, from: null, to: null })).toBe('/admin/jobs/ready')
  })
  it('keeps the set filter fields and the cursor, encoded', () => {
    const url = listUrl('in_progress', { queue: 'mail ers', class: 'Mailers::DigestJob', from: '2026-12-07T20:00:00.000Z', to: null }, 'a/b+c')
    expect(url).toBe('/admin/jobs/in_progress?queue=mail+ers&class=Mailers%3A%3ADigestJob&from=2026-12-07T20%3A00%3A00.000Z&cursor=a%2Fb%2Bc')
    const params = new URLSearchParams(url.split('?')[1])
    expect(params.get('class')).toBe('Mailers::DigestJob')
    expect(params.get('cursor')).toBe('a/b+c')
    expect(cursorOf(url)).toBe('a/b+c')
  })
  it('reads no cursor from an address without one', () => {
    expect(cursorOf('/admin/jobs/failed')).toBe(null)
    expect(cursorOf('/admin/jobs/failed?queue=x')).toBe(null)
    expect(cursorOf(undefined)).toBe(null)
  })
})

describe('filters', () => {
  it('drops empty fields', () => {
    expect(activeFilter({ queue: '', class: 'A', from: null })).toEqual({ class: 'A' })
    expect(hasFilter({ queue: null })).toBe(false)
    expect(hasFilter({ to: '2026-12-07T20:00:00Z' })).toBe(true)
    expect(hasFilter(null)).toBe(false)
  })
  it('describes a filter in words', () => {
    expect(describeFilter({ queue: 'default', class: null })).toBe('queue=default')
    expect(describeFilter({ queue: 'default', class: 'ReportJob' })).toBe('queue=default, class=ReportJob')
    expect(describeFilter({})).toBe(null)
    expect(describeFilter({ from: '2026-12-07T20:00:00Z' })).toMatch(/^from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)
  })
})

describe('actions per state', () => {
  it('offers bulk retry only for failed jobs and bulk discard for the waiting ones', () => {
    expect(bulkActions('failed')).toEqual(['retry', 'discard'])
    for (const state of ['ready', 'scheduled', 'blocked']) expect(bulkActions(state)).toEqual(['discard'])
    expect(bulkActions('in_progress')).toEqual([])
    expect(bulkActions('finished')).toEqual([])
  })
  it('offers retry/discard on failed rows and run now on scheduled and blocked ones', () => {
    expect(rowActions('failed')).toEqual(['retry', 'discard'])
    expect(rowActions('scheduled')).toEqual(['run'])
    expect(rowActions('blocked')).toEqual(['run'])
    expect(rowActions('ready')).toEqual([])
  })
  it('counts jobs in words', () => {
    expect(jobsPhrase({ n: 1, more: false }, formatCount)).toBe('1 job')
    expect(jobsPhrase({ n: 120, more: false }, formatCount)).toBe('120 jobs')
    expect(jobsPhrase({ n: 10000, more: true }, formatCount)).toBe('10,000+ jobs')
  })
})

describe('chart series', () => {
  const minutes = [
    { at: 'a', enqueued: 0, finished: 0, failed: 0, delay_avg_ms: null, delay_max_ms: null },
    { at: 'b', enqueued: 5, finished: 3, failed: 1, delay_avg_ms: 12, delay_max_ms: 40 },
    { at: 'c', enqueued: 2, finished: 0, failed: 2, delay_avg_ms: 5, delay_max_ms: 9 },
  ]
  it('takes finished and failed per minute', () => {
    expect(throughputSeries(minutes)).toEqual({ finished: [0, 3, 0], failed: [0, 1, 2] })
  })
  it('keeps minutes without a start as gaps in the latency', () => {
    expect(latencySeries(minutes)).toEqual({ avg: [null, 12, 5], max: [null, 40, 9] })
  })
  it('computes the failure rate of the jobs that ended, none for a quiet minute', () => {
    expect(failureRateSeries(minutes)).toEqual([null, 25, 100])
  })
})
