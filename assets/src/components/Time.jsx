// Times on the dashboard: "3 min ago" / "in 12 s" with the exact local time in a title.
// One shared clock ticks every few seconds while any of them is on screen.
import { useSyncExternalStore } from 'react'
import { formatDuration, formatExact, formatRelative } from '../admin/format.js'

const TICK_MS = 5000
let now = null
let timer = null
const listeners = new Set()

function subscribe(listener) {
  listeners.add(listener)
  if (timer === null) {
    timer = setInterval(() => {
      now = Date.now()
      listeners.forEach((fn) => fn())
    }, TICK_MS)
  }
  return () => {
    listeners.delete(listener)
    if (listeners.size === 0) {
      clearInterval(timer)
      timer = null
      now = null
    }
  }
}

function snapshot() {
  if (now === null) now = Date.now()
  return now
}

// The current time in ms, updated every few seconds.
export const useNow = () => useSyncExternalStore(subscribe, snapshot, snapshot)

// <time> showing how long ago (or until) `at` is; "—" for null.
export function Ago({ at, className }) {
  const current = useNow()
  if (!at) return <span className={className ?? 'muted'}>—</span>
  return (
    <time dateTime={at} title={`${formatExact(at)} (${at})`} className={className}>
      {formatRelative(at, current)}
    </time>
  )
}

// The exact time with the relative one after it: "2026-12-07 21:31:05 · 3 min ago".
export function AtTime({ at }) {
  const current = useNow()
  if (!at) return <span className="muted">—</span>
  return (
    <time dateTime={at} title={at}>
      {formatExact(at)} <span className="muted">· {formatRelative(at, current)}</span>
    </time>
  )
}

export const Duration = ({ ms }) => <span title={ms == null ? undefined : `${ms} ms`}>{formatDuration(ms)}</span>
