// Sync markers (seed "Real-time Synchronization"): a SyncChannel subscription per model
// record; each marker names a prop to refresh; markers arriving within 300 ms of each other
// are folded into ONE partial reload of just the named props. Each subscription has its own
// debounce and state; nothing is shared between subscriptions.
export const DEBOUNCE_MS = 300

// A rejected subscription (at first, or when the cable resubscribes after a reconnect) means
// the record is gone or no longer mine: `onRejected({model, id, props})` lets the page find
// out through the same authorized reload.
export function createSyncSubscriber({ cable, reload, debounceMs = DEBOUNCE_MS, log, onRejected }) {
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
