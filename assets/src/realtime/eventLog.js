// A small event log: the last 50 entries, each with a category (cable, broadcast, leader,
// follower), shown by the log panel. Subscribers are told about every change.
export const LOG_LIMIT = 50

export function createEventLog(limit = LOG_LIMIT) {
  let entries = []
  let seq = 0
  const listeners = new Set()
  const notify = () => listeners.forEach((fn) => fn(entries))
  return {
    add(category, message) {
      seq += 1
      entries = [{ id: seq, at: new Date(), category, message }, ...entries].slice(0, limit)
      notify()
    },
    clear() {
      entries = []
      notify()
    },
    entries: () => entries,
    subscribe(fn) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
  }
}
