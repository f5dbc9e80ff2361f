// Unit tests (vitest) for the cross-tab cable and the sync-marker debounce.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { coalesce, createSyncSubscriber, DEBOUNCE_MS } from './syncMarkers.js'
import { CAUGHT_UP_MS, createSharedCable, HISTORY_WAIT_MS, OFFLINE_AFTER_MS, PROBE_MS } from './sharedCable.js'
import { createEventLog, LOG_LIMIT } from './eventLog.js'

// In-memory BroadcastChannel: delivers to every other instance with the same name.
class FakeChannel {
  static all = new Set()
  constructor(name) {
    this.name = name
    this.listeners = new Set()
    FakeChannel.all.add(this)
  }
  postMessage(data) {
    for (const other of FakeChannel.all) {
      if (other !== this && other.name === this.name) {
        const copy = structuredClone(data)
        other.listeners.forEach((fn) => queueMicrotask(() => fn({ data: copy })))
      }
    }
  }
  addEventListener(_type, fn) {
    this.listeners.add(fn)
  }
  removeEventListener(_type, fn) {
    this.listeners.delete(fn)
  }
  close() {
    FakeChannel.all.delete(this)
  }
}

// In-memory Web Locks: FIFO queue per name; a holder's release grants the next waiter.
function fakeLocks() {
  const queues = new Map()
  const grant = (name) => {
    const q = queues.get(name)
    if (!q || q.active || q.waiting.length === 0) return
    const next = q.waiting.shift()
    q.active = next
    Promise.resolve(next.callback()).finally(() => {
      q.active = null
      grant(name)
    })
  }
  return {
    request(name, options, callback) {
      if (!queues.has(name)) queues.set(name, { active: null, waiting: [] })
      const entry = { callback }
      queues.get(name).waiting.push(entry)
      options?.signal?.addEventListener('abort', () => {
        const q = queues.get(name)
        q.waiting = q.waiting.filter((e) => e !== entry)
      })
      grant(name)
      return new Promise(() => {})
    },
  }
}

// A fake @anycable/web cable: records subscriptions as channels with `on(event)`, lets tests
// push messages and `info` events, and open, drop or restore the socket like the real one
// (events 'connect' {reconnect, restored}, 'disconnect', 'close'; `monitor.reconnectNow()`).
function emitter() {
  const listeners = new Map()
  return {
    on(event, fn) {
      if (!listeners.has(event)) listeners.set(event, new Set())
      listeners.get(event).add(fn)
      return () => listeners.get(event).delete(fn)
    },
    emit(event, ...args) {
      listeners.get(event)?.forEach((fn) => fn(...args))
    },
  }
}

class RejectedError extends Error {
  name = 'SubscriptionRejectedError'
}

function fakeCable({ autoOpen = true } = {}) {
  const cables = []
  const createCable = (url) => {
    const events = emitter()
    const c = {
      url,
      state: 'idle',
      subs: [],
      connects: 0,
      disconnected: false,
      on: events.on,
      emit: events.emit,
      monitor: {
        state: 'pending_connect',
        reconnects: 0,
        reconnectNow() {
          if (c.monitor.state === 'closed' || c.state !== 'disconnected') return false
          c.monitor.reconnects += 1
          c.state = 'connecting'
          return true
        },
      },
      connect() {
        c.connects += 1
        if (c.state === 'idle') {
          c.state = 'connecting'
          if (autoOpen) queueMicrotask(() => c.open())
        }
        return Promise.resolve()
      },
      disconnect() {
        c.disconnected = true
        c.state = 'closed'
      },
      // The socket opens: a first connect, a resumed session or a fresh one after a drop.
      open({ restored = false } = {}) {
        const reconnect = c.everOpen === true
        c.everOpen = true
        c.state = 'connected'
        c.monitor.state = 'connected'
        for (const sub of c.subs) if (!sub.closed) sub.setState('connected', { reconnect, restored })
        events.emit('connect', { reconnect, restored })
      },
      drop() {
        c.state = 'disconnected'
        c.monitor.state = 'pending_reconnect'
        for (const sub of c.subs) if (!sub.closed) sub.setState('disconnected')
        events.emit('disconnect', new Error('transport_closed'))
      },
      subscribeTo(name, params) {
        const subEvents = emitter()
        const sub = {
          identifier: { channel: name, ...params },
          state: 'connecting',
          closed: false,
          on: subEvents.on,
          emit: subEvents.emit,
          setState(state, arg) {
            sub.state = state
            subEvents.emit(state === 'connected' ? 'connect' : 'disconnect', arg)
          },
          receive: (data) => subEvents.emit('message', data),
          presenceEvent: (event) => subEvents.emit('presence', event),
          performed: [],
          perform(action) {
            sub.performed.push(action)
            return Promise.resolve()
          },
          presence: {
            joins: 0,
            join() {
              sub.presence.joins += 1
              return Promise.resolve()
            },
          },
          info: (type) => subEvents.emit('info', { type }),
          reject() {
            sub.closed = true
            sub.state = 'closed'
            subEvents.emit('close', new RejectedError('Rejected'))
          },
          disconnect() {
            sub.closed = true
            sub.state = 'closed'
            subEvents.emit('close')
          },
        }
        c.subs.push(sub)
        if (c.state === 'connected') queueMicrotask(() => sub.setState('connected', { reconnect: false, restored: false }))
        return sub
      },
    }
    cables.push(c)
    return c
  }
  return { cables, consumers: cables, createCable }
}

const flush = () => new Promise((r) => setTimeout(r, 0))

describe('sync markers', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('folds many markers inside 300 ms into one reload of the named props', () => {
    let handler
    const cable = { subscribe: (_id, h) => ((handler = h), () => {}) }
    const reload = vi.fn()
    const subscribe = createSyncSubscriber({ cable, reload })
    subscribe('Account', 'abc', ['account', 'accounts'])
    for (let i = 0; i < 10; i++) {
      handler.received({ action: 'refresh', prop: i % 2 ? 'account' : 'accounts' })
      vi.advanceTimersByTime(50)
    }
    expect(reload).not.toHaveBeenCalled()
    vi.advanceTimersByTime(DEBOUNCE_MS)
    expect(reload).toHaveBeenCalledTimes(1)
    expect(reload.mock.calls[0][0].only.sort()).toEqual(['account', 'accounts'])
  })

  it('keeps a separate debounce per subscription and stops after unsubscribe', () => {
    const handlers = []
    const cable = { subscribe: (_id, h) => (handlers.push(h), () => {}) }
    const reload = vi.fn()
    const subscribe = createSyncSubscriber({ cable, reload })
    subscribe('Account', 'a', ['account'])
    const stop = subscribe('Account', 'b', ['account'])
    handlers[0].received({ action: 'refresh', prop: 'account' })
    handlers[1].received({ action: 'refresh', prop: 'account' })
    stop()
    vi.advanceTimersByTime(DEBOUNCE_MS + 1)
    expect(reload).toHaveBeenCalledTimes(1)
  })

  it('ignores markers for props the page does not show', () => {
    let handler
    const cable = { subscribe: (_id, h) => ((handler = h), () => {}) }
    const reload = vi.fn()
    createSyncSubscriber({ cable, reload })('Account', 'a', ['account'])
    handler.received({ action: 'refresh', prop: 'accounts' })
    handler.received('garbage')
    vi.advanceTimersByTime(DEBOUNCE_MS + 1)
    expect(reload).not.toHaveBeenCalled()
  })

  it('reports a refused subscription so the page can find out why', () => {
    let handler
    const cable = { subscribe: (_id, h) => ((handler = h), () => {}) }
    const onRejected = vi.fn()
    createSyncSubscriber({ cable, reload: vi.fn(), onRejected })('Account', 'a', ['account'])
    handler.rejected()
    expect(onRejected).toHaveBeenCalledWith({ model: 'Account', id: 'a', props: ['account'] })
  })
})

describe('after a reconnect', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('replayed markers go through the same debounce: one reload of each named prop', () => {
    let handler
    const cable = { subscribe: (_id, h) => ((handler = h), () => {}) }
    const reload = vi.fn()
    createSyncSubscriber({ cable, reload })('Account', 'a', ['account', 'members'])
    // The replay: five missed markers back to back, then the history confirmation.
    for (const prop of ['account', 'members', 'account', 'account', 'members']) handler.received({ action: 'refresh', prop })
    handler.info({ type: 'history_received' })
    vi.advanceTimersByTime(DEBOUNCE_MS + 1)
    expect(reload).toHaveBeenCalledTimes(1)
    expect(reload.mock.calls[0][0].only.sort()).toEqual(['account', 'members'])
  })

  it('a lost history asks for the full reload; a found one does not', () => {
    const handlers = []
    const cable = { subscribe: (_id, h) => (handlers.push(h), () => {}) }
    const onHistoryLost = vi.fn()
    const subscribe = createSyncSubscriber({ cable, reload: vi.fn(), onHistoryLost })
    subscribe('Account', 'a', ['account'])
    subscribe('User', 'u', [])
    handlers[0].info({ type: 'history_received' })
    expect(onHistoryLost).not.toHaveBeenCalled()
    handlers[0].info({ type: 'history_not_found' })
    handlers[1].info({ type: 'history_not_found' })
    expect(onHistoryLost.mock.calls).toEqual([[{ model: 'Account', id: 'a', props: ['account'] }], [{ model: 'User', id: 'u', props: [] }]])
  })

  it('several subscriptions losing their history at once make one full reload; a later loss another', () => {
    const runs = []
    const reloadAll = coalesce((done, arg) => runs.push({ done, arg }))
    expect(reloadAll('first')).toBe(true)
    expect(reloadAll('second')).toBe(false)
    vi.advanceTimersByTime(100)
    expect(reloadAll('while reloading')).toBe(false)
    expect(runs.map((r) => r.arg)).toEqual(['first'])
    runs[0].done()
    expect(reloadAll('later')).toBe(true)
    vi.advanceTimersByTime(100)
    expect(runs.map((r) => r.arg)).toEqual(['first', 'later'])
  })
})

describe('shared cable', () => {
  afterEach(() => {
    FakeChannel.all.clear()
    vi.useRealTimers()
  })

  it('opens one socket for all tabs and relays messages to followers', async () => {
    const locks = fakeLocks()
    const { consumers, createCable } = fakeCable()
    const opts = { createCable, locks, BroadcastChannelImpl: FakeChannel }
    const a = createSharedCable(opts)
    const b = createSharedCable(opts)
    const c = createSharedCable(opts)
    await flush()
    expect([a.role(), b.role(), c.role()]).toEqual(['leader', 'follower', 'follower'])
    const got = { a: [], b: [], c: [] }
    a.subscribe({ channel: 'TodosChannel' }, { received: (d) => got.a.push(d) })
    b.subscribe({ channel: 'TodosChannel' }, { received: (d) => got.b.push(d) })
    c.subscribe({ channel: 'TodosChannel' }, { received: (d) => got.c.push(d) })
    await flush()
    expect(consumers).toHaveLength(1)
    expect(consumers[0].subs).toHaveLength(1)
    consumers[0].subs[0].receive({ todos: [1] })
    await flush()
    expect(got).toEqual({ a: [{ todos: [1] }], b: [{ todos: [1] }], c: [{ todos: [1] }] })
  })

  it('a new leader takes over and resubscribes what followers need', async () => {
    const locks = fakeLocks()
    const { consumers, createCable } = fakeCable()
    const opts = { createCable, locks, BroadcastChannelImpl: FakeChannel }
    const a = createSharedCable(opts)
    const b = createSharedCable(opts)
    const c = createSharedCable(opts)
    await flush()
    const got = []
    c.subscribe({ channel: 'TodosChannel' }, { received: (d) => got.push(d) })
    await flush()
    a.close()
    await flush()
    await flush()
    expect(b.role()).toBe('leader')
    expect(consumers).toHaveLength(2)
    const newSocket = consumers[1]
    expect(newSocket.subs.map((s) => s.identifier)).toEqual([{ channel: 'TodosChannel' }])
    newSocket.subs[0].receive({ todos: [2] })
    await flush()
    expect(got).toEqual([{ todos: [2] }])
  })

  it('a follower that opens after the leader connected shows "connected" at once', async () => {
    const locks = fakeLocks()
    const { createCable } = fakeCable()
    const opts = { createCable, locks, BroadcastChannelImpl: FakeChannel }
    const a = createSharedCable(opts)
    await flush()
    a.subscribe({ channel: 'TodosChannel' }, {})
    await flush()
    expect(a.status()).toBe('connected')
    // Opens later: the leader's status does not change any more, so it must be asked.
    const b = createSharedCable(opts)
    const seen = []
    b.onStatus((s) => seen.push(s))
    await flush()
    await flush()
    expect(b.role()).toBe('follower')
    expect(b.status()).toBe('connected')
    expect(seen).toEqual(['connected'])
  })

  it('says reconnecting while the socket is down, offline after the threshold, and reconnects once /up answers', async () => {
    vi.useFakeTimers()
    const locks = fakeLocks()
    const { consumers, createCable } = fakeCable()
    let up = false
    const probe = vi.fn(async () => up)
    const opts = { createCable, locks, BroadcastChannelImpl: FakeChannel, probe }
    const a = createSharedCable(opts)
    const b = createSharedCable(opts)
    await vi.advanceTimersByTimeAsync(0)
    b.subscribe({ channel: 'TodosChannel' }, {})
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    expect([a.status(), b.status()]).toEqual(['connected', 'connected'])
    const socket = consumers[0]
    expect(socket.url).toBe('/cable')
    expect(probe).not.toHaveBeenCalled()

    socket.drop()
    await vi.advanceTimersByTimeAsync(0)
    expect([a.status(), b.status()]).toEqual(['reconnecting', 'reconnecting'])
    await vi.advanceTimersByTimeAsync(PROBE_MS * 4)
    expect(probe.mock.calls.length).toBeGreaterThanOrEqual(4)
    expect(socket.monitor.reconnects).toBe(0)
    await vi.advanceTimersByTimeAsync(OFFLINE_AFTER_MS)
    expect([a.status(), b.status()]).toEqual(['offline', 'offline'])

    // The server answers: the monitor is told to reconnect now, once while it is connecting.
    up = true
    await vi.advanceTimersByTimeAsync(PROBE_MS * 3)
    expect(socket.monitor.reconnects).toBe(1)
    socket.open({ restored: false })
    socket.subs[0].info('history_received')
    await vi.advanceTimersByTimeAsync(CAUGHT_UP_MS + PROBE_MS)
    expect([a.status(), b.status()]).toEqual(['connected', 'connected'])
    expect(socket.monitor.reconnects).toBe(1)
    a.close()
    b.close()
    vi.useRealTimers()
  })

  it('backs off when reconnects do not stick, and never reconnects a cable closed on purpose', async () => {
    vi.useFakeTimers()
    const { consumers, createCable } = fakeCable()
    const probe = vi.fn(async () => true)
    const a = createSharedCable({ createCable, locks: fakeLocks(), BroadcastChannelImpl: FakeChannel, probe })
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    const socket = consumers[0]
    // /up answers but the socket never opens: at once (the drop is an event), then 250, 500,
    // 1000, 2000, 4000 ms apart, then at most 5 s.
    const reconnectNow = socket.monitor.reconnectNow
    socket.monitor.reconnectNow = () => {
      reconnectNow()
      queueMicrotask(() => socket.drop())
    }
    socket.drop()
    await vi.advanceTimersByTimeAsync(3900)
    expect(socket.monitor.reconnects).toBe(5)
    await vi.advanceTimersByTimeAsync(20_000)
    expect(socket.monitor.reconnects).toBeLessThanOrEqual(9)
    expect(socket.monitor.reconnects).toBeGreaterThanOrEqual(7)

    // The server said not to reconnect: the cable is closed and stays so.
    socket.state = 'closed'
    socket.monitor.state = 'closed'
    socket.emit('close', new Error('unauthorized'))
    const before = probe.mock.calls.length
    await vi.advanceTimersByTimeAsync(10_000)
    expect(probe.mock.calls.length).toBe(before)
    expect(a.status()).toBe('offline')
    a.close()
    expect(socket.disconnected).toBe(true)
  })

  it('after a resumed session says "caught-up" once every subscription got its history, then "connected"', async () => {
    vi.useFakeTimers()
    const { consumers, createCable } = fakeCable()
    const locks = fakeLocks()
    const opts = { createCable, locks, BroadcastChannelImpl: FakeChannel, probe: async () => false }
    const a = createSharedCable(opts)
    const b = createSharedCable(opts)
    await vi.advanceTimersByTimeAsync(0)
    const got = { a: [], b: [] }
    a.subscribe({ channel: 'SyncChannel', model: 'Account', id: '1' }, { received: (d) => got.a.push(d) })
    b.subscribe({ channel: 'SyncChannel', model: 'Account', id: '2' }, { received: (d) => got.b.push(d) })
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    const socket = consumers[0]
    expect(socket.subs.map((s) => s.identifier.id)).toEqual(['1', '2'])
    const seen = []
    b.onStatus((s) => seen.push(s))

    socket.drop()
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    socket.open({ restored: true })
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    // Open, but the missed messages are not all in: still reconnecting.
    expect([a.status(), b.status()]).toEqual(['reconnecting', 'reconnecting'])
    socket.subs[0].receive({ prop: 'account' })
    socket.subs[0].info('history_received')
    socket.subs[1].receive({ prop: 'account' })
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    expect(a.status()).toBe('reconnecting')
    socket.subs[1].info('history_received')
    await vi.advanceTimersByTimeAsync(0)
    expect([a.status(), b.status()]).toEqual(['caught-up', 'caught-up'])
    expect(got).toEqual({ a: [{ prop: 'account' }], b: [{ prop: 'account' }] })
    await vi.advanceTimersByTimeAsync(CAUGHT_UP_MS + PROBE_MS)
    expect([a.status(), b.status()]).toEqual(['connected', 'connected'])
    expect(seen).toEqual(['reconnecting', 'caught-up', 'connected'])
    a.close()
    b.close()
  })

  it('a lost history is told to the tab that wants it, through the leader, and the status skips "caught-up"', async () => {
    vi.useFakeTimers()
    const { consumers, createCable } = fakeCable()
    const locks = fakeLocks()
    const opts = { createCable, locks, BroadcastChannelImpl: FakeChannel, probe: async () => false }
    const a = createSharedCable(opts)
    const b = createSharedCable(opts)
    await vi.advanceTimersByTimeAsync(0)
    const infos = { a: [], b: [] }
    a.subscribe({ channel: 'TodosChannel' }, { info: (e) => infos.a.push(e.type) })
    b.subscribe({ channel: 'TodosChannel' }, { info: (e) => infos.b.push(e.type) })
    b.subscribe({ channel: 'SyncChannel', model: 'User', id: '7' }, { info: (e) => infos.b.push(`user ${e.type}`) })
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    const socket = consumers[0]
    const seen = []
    b.onStatus((s) => seen.push(s))
    socket.drop()
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    socket.open({ restored: true })
    socket.subs[0].info('history_not_found')
    socket.subs[1].info('history_received')
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    expect(infos).toEqual({ a: ['history_not_found'], b: ['history_not_found', 'user history_received'] })
    expect(seen).toEqual(['reconnecting', 'connected'])
    a.close()
    b.close()
  })

  it('goes live without "caught-up" when the history answers do not come, and on a first connect', async () => {
    vi.useFakeTimers()
    const { consumers, createCable } = fakeCable()
    const a = createSharedCable({ createCable, locks: fakeLocks(), BroadcastChannelImpl: FakeChannel, probe: async () => false })
    const seen = []
    a.onStatus((s) => seen.push(s))
    a.subscribe({ channel: 'TodosChannel' }, {})
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    const socket = consumers[0]
    socket.subs[0].info('history_received') // the first subscribe's answer: nothing to catch up
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    expect(seen).toEqual(['connected'])
    socket.drop()
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    socket.open({ restored: false })
    await vi.advanceTimersByTimeAsync(HISTORY_WAIT_MS - PROBE_MS)
    expect(a.status()).toBe('reconnecting')
    await vi.advanceTimersByTimeAsync(PROBE_MS * 2)
    expect(seen).toEqual(['connected', 'reconnecting', 'connected'])
    a.close()
  })

  it('a subscription the server rejects (also when resubscribing) is reported, released and not waited for', async () => {
    vi.useFakeTimers()
    const { consumers, createCable } = fakeCable()
    const a = createSharedCable({ createCable, locks: fakeLocks(), BroadcastChannelImpl: FakeChannel, probe: async () => false })
    const rejected = vi.fn()
    a.subscribe({ channel: 'SyncChannel', model: 'Account', id: '1' }, { rejected })
    a.subscribe({ channel: 'TodosChannel' }, {})
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    const socket = consumers[0]
    socket.drop()
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    socket.open({ restored: false })
    socket.subs[0].reject()
    socket.subs[1].info('history_received')
    await vi.advanceTimersByTimeAsync(0)
    expect(rejected).toHaveBeenCalledTimes(1)
    expect(a.status()).toBe('caught-up')
    a.close()
  })

  it('presence: the leader joins once, asks who is there at every connect, and each tab that wants the list gets it', async () => {
    vi.useFakeTimers()
    const { consumers, createCable } = fakeCable()
    const locks = fakeLocks()
    const opts = { createCable, locks, BroadcastChannelImpl: FakeChannel, probe: async () => false }
    const a = createSharedCable(opts)
    const b = createSharedCable(opts)
    const c = createSharedCable(opts)
    await vi.advanceTimersByTimeAsync(0)
    const lists = { a: [], b: [], d: [] }
    const names = (list) => list.map((p) => p.name).join(',')
    a.subscribe({ channel: 'TodosChannel' }, { presence: (l) => lists.a.push(names(l)) })
    b.subscribe({ channel: 'TodosChannel' }, { presence: (l) => lists.b.push(names(l)) })
    c.subscribe({ channel: 'TodosChannel' }, { received: () => {} })
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    const sub = consumers[0].subs[0]
    expect(consumers[0].subs).toHaveLength(1)
    expect(sub.presence.joins).toBe(1)
    expect(sub.performed).toEqual(['$presence:info'])
    sub.presenceEvent({ type: 'info', total: 1, records: [{ id: '2', info: { name: 'Bob' } }] })
    sub.presenceEvent({ type: 'join', id: '1', info: { name: 'Ann' } })
    sub.presenceEvent({ type: 'join', id: '3', info: { name: 'Cy' } })
    sub.presenceEvent({ type: 'leave', id: '2' })
    await vi.advanceTimersByTimeAsync(0)
    expect(lists.a).toEqual(['Bob', 'Ann,Bob', 'Ann,Bob,Cy', 'Ann,Cy'])
    expect(lists.b).toEqual(lists.a)
    // A resumed socket asks again (events sent while it was down are not replayed); the
    // cable's protocol joins again by itself.
    consumers[0].drop()
    consumers[0].open({ restored: true })
    await vi.advanceTimersByTimeAsync(0)
    expect(sub.performed).toEqual(['$presence:info', '$presence:info'])
    expect(sub.presence.joins).toBe(1)
    // A tab that wants the list later gets the current one at once.
    const d = createSharedCable(opts)
    await vi.advanceTimersByTimeAsync(0)
    d.subscribe({ channel: 'TodosChannel' }, { presence: (l) => lists.d.push(names(l)) })
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    expect(lists.d).toEqual(['Ann,Cy'])
    for (const tab of [a, b, c, d]) tab.close()
  })

  it('falls back to the discover/ping election without Web Locks', async () => {
    vi.useFakeTimers()
    const { consumers, createCable } = fakeCable()
    const opts = { createCable, locks: null, BroadcastChannelImpl: FakeChannel }
    const a = createSharedCable(opts)
    const b = createSharedCable(opts)
    await vi.advanceTimersByTimeAsync(600)
    const roles = [a.role(), b.role()].sort()
    expect(roles).toEqual(['follower', 'leader'])
    expect(a.electionMode).toBe('fallback')
    expect(consumers).toHaveLength(1)
    vi.useRealTimers()
  })
})

describe('event log', () => {
  it('keeps the last 50 entries, newest first, and clears', () => {
    const log = createEventLog()
    for (let i = 0; i < 60; i++) log.add('cable', `event ${i}`)
    expect(log.entries()).toHaveLength(LOG_LIMIT)
    expect(log.entries()[0].message).toBe('event 59')
    log.clear()
    expect(log.entries()).toHaveLength(0)
  })
})
