// Formatting for the operations dashboard: relative times ("12 s ago", "in 3 min"),
// durations ("1.2 s"), numbers with separators, capped counts ("10,000+"), bytes ("12.3 MB")
// and the `datetime-local` <-> RFC 3339 conversion of the job filters. Pure functions; the
// current time is passed in, so tests (and one render) use one `now`.

const numbers = new Intl.NumberFormat('en-US')
const decimals = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 })

// 12345 -> "12,345"; null/undefined -> "—".
export function formatNumber(n) {
  if (n == null || Number.isNaN(n)) return '—'
  return numbers.format(n)
}

// A capped count `{n, more}` -> "10,000+" when there are more, else "1,234".
export function formatCount(count) {
  if (!count) return '—'
  return `${formatNumber(count.n)}${count.more ? '+' : ''}`
}

// A ratio 0..1 -> "93.4%"; null -> "—".
export function formatPercent(ratio) {
  if (ratio == null || Number.isNaN(ratio)) return '—'
  return `${decimals.format(ratio * 100)}%`
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB']

// Bytes in decimal units, as the server's flags count them: 12_300_000 -> "12.3 MB".
export function formatBytes(bytes) {
  if (bytes == null || Number.isNaN(bytes)) return '—'
  let value = bytes
  let unit = 0
  while (Math.abs(value) >= 1000 && unit < UNITS.length - 1) {
    value /= 1000
    unit += 1
  }
  if (unit === 0) return `${value} B`
  return `${value >= 100 ? Math.round(value) : decimals.format(value)} ${UNITS[unit]}`
}

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

// A duration in milliseconds: "340 ms", "1.2 s", "42 s", "3 min", "2 h 5 min", "3 d 4 h".
export function formatDuration(ms) {
  if (ms == null || Number.isNaN(ms)) return '—'
  const abs = Math.abs(ms)
  if (abs < SECOND) return `${Math.round(abs)} ms`
  if (abs < 10 * SECOND) return `${decimals.format(Math.floor(abs / 100) / 10)} s`
  if (abs < MINUTE) return `${Math.floor(abs / SECOND)} s`
  if (abs < HOUR) return `${Math.floor(abs / MINUTE)} min`
  if (abs < DAY) {
    const h = Math.floor(abs / HOUR)
    const m = Math.floor((abs % HOUR) / MINUTE)
    return m ? `${h} h ${m} min` : `${h} h`
  }
  const d = Math.floor(abs / DAY)
  const h = Math.floor((abs % DAY) / HOUR)
  return h ? `${d} d ${h} h` : `${d} d`
}

// A coarse span for relative times: one unit, rounded down.
function span(ms) {
  if (ms < MINUTE) return `${Math.floor(ms / SECOND)} s`
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)} min`
  if (ms < DAY) return `${Math.floor(ms / HOUR)} h`
  return `${Math.floor(ms / DAY)} d`
}

// An RFC 3339 time relative to `now` (ms since the epoch): "12 s ago", "in 3 min", "now"
// within a second; "—" for null.
export function formatRelative(iso, now) {
  if (!iso) return '—'
  const at = Date.parse(iso)
  if (Number.isNaN(at)) return '—'
  const diff = at - now
  if (Math.abs(diff) < SECOND) return 'now'
  return diff < 0 ? `${span(-diff)} ago` : `in ${span(diff)}`
}

const pad = (n, width = 2) => String(n).padStart(width, '0')

// The exact local time of an RFC 3339 string, to the second: "2026-12-07 21:31:05".
export function formatExact(iso) {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return '—'
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

// The local clock time of a minute: "21:31".
export function formatClock(iso) {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`
}

// RFC 3339 (UTC) -> the value of a `datetime-local` input in the browser's zone
// ("2026-12-07T21:31"); "" for null or garbage.
export function toLocalInput(iso) {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
  return d.getSeconds() ? `${base}:${pad(d.getSeconds())}` : base
}

// A `datetime-local` value (local time) -> RFC 3339 UTC ("2026-12-07T20:31:00.000Z"); null
// when empty or invalid.
export function fromLocalInput(value) {
  if (!value) return null
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/.exec(value)
  if (!m) return null
  const [, y, mo, d, h, mi, s = '0', frac = '0'] = m
  const date = new Date(+y, +mo - 1, +d, +h, +mi, +s, +frac.padEnd(3, '0'))
  return Number.isNaN(date.getTime()) ? null : date.toISOString()
}
