// Unit tests (vitest) for the dashboard's formatting helpers.
/* global process */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  formatBytes,
  formatClock,
  formatCount,
  formatDuration,
  formatExact,
  formatNumber,
  formatPercent,
  formatRelative,
  fromLocalInput,
  toLocalInput,
} from './format.js'

const NOW = Date.parse('2026-12-07T20:31:05.123Z')
const at = (ms) => new Date(NOW + ms).toISOString()

describe('formatRelative', () => {
  it('says how long ago, in one rounded-down unit', () => {
    expect(formatRelative(at(-12_400), NOW)).toBe('12 s ago')
    expect(formatRelative(at(-59_999), NOW)).toBe('59 s ago')
    expect(formatRelative(at(-60_000), NOW)).toBe('1 min ago')
    expect(formatRelative(at(-3 * 60_000 - 30_000), NOW)).toBe('3 min ago')
    expect(formatRelative(at(-5 * 3_600_000), NOW)).toBe('5 h ago')
    expect(formatRelative(at(-3 * 86_400_000), NOW)).toBe('3 d ago')
  })
  it('says how long until a future time', () => {
    expect(formatRelative(at(3 * 60_000), NOW)).toBe('in 3 min')
    expect(formatRelative(at(12_000), NOW)).toBe('in 12 s')
  })
  it('calls anything within a second now, and nothing a dash', () => {
    expect(formatRelative(at(-400), NOW)).toBe('now')
    expect(formatRelative(at(900), NOW)).toBe('now')
    expect(formatRelative(null, NOW)).toBe('—')
    expect(formatRelative('not a time', NOW)).toBe('—')
  })
})

describe('formatDuration', () => {
  it('picks a unit for the size of the duration', () => {
    expect(formatDuration(0)).toBe('0 ms')
    expect(formatDuration(340.6)).toBe('341 ms')
    expect(formatDuration(1_234)).toBe('1.2 s')
    expect(formatDuration(9_990)).toBe('9.9 s')
    expect(formatDuration(42_000)).toBe('42 s')
    expect(formatDuration(3 * 60_000 + 20_000)).toBe('3 min')
    expect(formatDuration(2 * 3_600_000 + 5 * 60_000)).toBe('2 h 5 min')
    expect(formatDuration(2 * 3_600_000)).toBe('2 h')
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000)).toBe('3 d 4 h')
    expect(formatDuration(14 * 86_400_000)).toBe('14 d')
  })
  it('shows a dash for no value', () => {
    expect(formatDuration(null)).toBe('—')
    expect(formatDuration(undefined)).toBe('—')
  })
})

describe('numbers', () => {
  it('groups thousands', () => {
    expect(formatNumber(0)).toBe('0')
    expect(formatNumber(1234567)).toBe('1,234,567')
    expect(formatNumber(null)).toBe('—')
  })
  it('marks a capped count with a plus', () => {
    expect(formatCount({ n: 10000, more: true })).toBe('10,000+')
    expect(formatCount({ n: 1234, more: false })).toBe('1,234')
    expect(formatCount(undefined)).toBe('—')
  })
  it('shows ratios as percentages with at most one decimal', () => {
    expect(formatPercent(0.9412)).toBe('94.1%')
    expect(formatPercent(1)).toBe('100%')
    expect(formatPercent(null)).toBe('—')
  })
  it('shows bytes in decimal units', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(999)).toBe('999 B')
    expect(formatBytes(12_300)).toBe('12.3 KB')
    expect(formatBytes(12_345_678)).toBe('12.3 MB')
    expect(formatBytes(268_435_456)).toBe('268 MB')
    expect(formatBytes(2_000_000_000)).toBe('2 GB')
    expect(formatBytes(null)).toBe('—')
  })
})

describe('local times', () => {
  // A zone with an offset, so local and UTC differ (Node reads TZ when it changes).
  const saved = process.env.TZ
  beforeAll(() => {
    process.env.TZ = 'America/New_York'
  })
  afterAll(() => {
    process.env.TZ = saved
  })

  it('shows exact and clock times in the local zone', () => {
    expect(formatExact('2026-12-07T20:31:05.123Z')).toBe('2026-12-07 15:31:05')
    expect(formatClock('2026-12-07T20:31:00Z')).toBe('15:31')
    expect(formatExact(null)).toBe('—')
  })
  it('turns an RFC 3339 time into a datetime-local value and back', () => {
    expect(toLocalInput('2026-12-07T20:31:00Z')).toBe('2026-12-07T15:31')
    expect(toLocalInput('2026-12-07T20:31:05Z')).toBe('2026-12-07T15:31:05')
    expect(fromLocalInput('2026-12-07T15:31')).toBe('2026-12-07T20:31:00.000Z')
    expect(fromLocalInput('2026-07-01T12:00:30')).toBe('2026-07-01T16:00:30.000Z')
    expect(fromLocalInput(toLocalInput('2026-03-08T12:45:00.000Z'))).toBe('2026-03-08T12:45:00.000Z')
  })
  it('treats empty or malformed input as no bound', () => {
    expect(toLocalInput(null)).toBe('')
    expect(toLocalInput('garbage')).toBe('')
    expect(fromLocalInput('')).toBe(null)
    expect(fromLocalInput('2026-12-07')).toBe(null)
  })
})
