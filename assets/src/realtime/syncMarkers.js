// Sync markers (seed "Real-time Synchronization"): a SyncChannel subscription per model
// record; each marker names a prop to refresh; markers arriving within 300 ms of each other
// are folded into ONE partial reload of just the named props. Each subscription has its own
// debounce and state; nothing is shared between subscriptions.
export const DEBOUNCE_MS = 300

// Markers missed while the socket was down are replayed after the reconnect as ordinary
// messages, so they take the same debounce. When they cannot be replayed (the server no
// longer keeps that far back: an `info` event `history_not_found`), `onHistoryLost({model,
// id, props})` lets the page reload everything instead.
//
// A rejected subscription (at first, or when the cable resubscribes after a reconnect) means
// the record is gone or no longer mine: `onRejected({model, id, props})` lets the page find
// out through the same authorized reload.
export function createSyncSubscriber({ cable, reload, debounceMs = DEBOUNCE_MS, log, onRejected, onHistoryLost }) {
  return function subscribeToModel(model, id, props = []) {
    const pending = new Set()
    let timer = null
    const flush = () => {
      timer = null
      const only = [...pending]
      pending.clear()
      if (only.length > 0) reload({ only })
    }
    const unsubscribe = cable.subscribe(
      { channel: 'SyncChannel', model, id: String(id) },
      {
        received(marker) {
          if (!marker || typeof marker !== 'object') return
          const prop = typeof marker.prop === 'string' ? marker.prop : null
          log?.add('broadcast', `${model}:${id} ${marker.action ?? 'refresh'} ${prop ?? ''}`.trim())
          // A marker names the prop it invalidates; only props this page shows are reloaded.
          for (const p of prop ? [prop] : props) if (props.length === 0 || props.includes(p)) pending.add(p)
          if (timer) clearTimeout(timer)
          timer = setTimeout(flush, debounceMs)
        },
        info(event) {
          if (event?.type !== 'history_not_found') return
          log?.add('cable', `${model}:${id} missed markers that are gone`)
          onHistoryLost?.({ model, id, props })
        },
        rejected() {
          log?.add('cable', `${model}:${id} subscription refused`)
          onRejected?.({ model, id, props })
        },
      },
    )
    return () => {
      if (timer) clearTimeout(timer)
      pending.clear()
      unsubscribe()
    }
  }
}

// Runs `fn(done, arg)` for the first call, `waitMs` later (so the rest of a burst arrives
// first), and drops every further call until `fn` calls `done`: several subscriptions that
// lost their history at the same reconnect make one reload.
export function coalesce(fn, waitMs = 50) {
  let busy = false
  return (arg) => {
    if (busy) return false
    busy = true
    setTimeout(() => fn(() => (busy = false), arg), waitMs)
    return true
  }
}
