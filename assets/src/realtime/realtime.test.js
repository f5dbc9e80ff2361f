// Unit tests (vitest) for the cross-tab cable and the sync-marker debounce.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createSyncSubscriber, DEBOUNCE_MS } from './syncMarkers.js'
import { createSharedCable, OFFLINE_AFTER_MS, PROBE_MS } from './sharedCable.js'
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

// A fake ActionCable consumer that records subscriptions and lets tests push messages.
function fakeCable() {
  const consumers = []
  const createConsumer = () => {
    const c = {
      subs: [],
      disconnected: false,
      connection: {
        open: true,
        reopens: 0,
        isOpen: () => c.connection.open,
        isActive: () => c.connection.open,
        reopen() {
          c.connection.reopens += 1
        },
      },
      connect() {},
      disconnect() {
        c.disconnected = true
      },
      subscriptions: {
        create(identifier, callbacks) {
          const sub = {
            identifier,
            callbacks,
            unsubscribed: false,
            unsubscribe() {
              sub.unsubscribed = true
            },
          }
          c.subs.push(sub)
          queueMicrotask(() => callbacks.connected?.())
          return sub
        },
      },
    }
    consumers.push(c)
    return c
  }
  return { consumers, createConsumer }
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

describe('shared cable', () => {
  afterEach(() => {
    FakeChannel.all.clear()
    vi.useRealTimers()
  })

  it('opens one socket for all tabs and relays messages to followers', async () => {
    const locks = fakeLocks()
    const { consumers, createConsumer } = fakeCable()
    const opts = { createConsumer, locks, BroadcastChannelImpl: FakeChannel }
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
    consumers[0].subs[0].callbacks.received({ todos: [1] })
    await flush()
    expect(got).toEqual({ a: [{ todos: [1] }], b: [{ todos: [1] }], c: [{ todos: [1] }] })
  })

  it('a new leader takes over and resubscribes what followers need', async () => {
    const locks = fakeLocks()
    const { consumers, createConsumer } = fakeCable()
    const opts = { createConsumer, locks, BroadcastChannelImpl: FakeChannel }
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
    newSocket.subs[0].callbacks.received({ todos: [2] })
    await flush()
    expect(got).toEqual([{ todos: [2] }])
  })

  it('a follower that opens after the leader connected shows "connected" at once', async () => {
    const locks = fakeLocks()
    const { createConsumer } = fakeCable()
    const opts = { createConsumer, locks, BroadcastChannelImpl: FakeChannel }
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

  it('says reconnecting while the socket is down, offline after the threshold, and reopens once /up answers', async () => {
    vi.useFakeTimers()
    const locks = fakeLocks()
    const { consumers, createConsumer } = fakeCable()
    let up = false
    const probe = vi.fn(async () => up)
    const opts = { createConsumer, locks, BroadcastChannelImpl: FakeChannel, probe }
    const a = createSharedCable(opts)
    const b = createSharedCable(opts)
    await vi.advanceTimersByTimeAsync(0)
    b.subscribe({ channel: 'TodosChannel' }, {})
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    expect([a.status(), b.status()]).toEqual(['connected', 'connected'])
    const socket = consumers[0]
    expect(probe).not.toHaveBeenCalled()

    socket.connection.open = false
    socket.subs[0].callbacks.disconnected({ willAttemptReconnect: true })
    await vi.advanceTimersByTimeAsync(0)
    expect([a.status(), b.status()]).toEqual(['reconnecting', 'reconnecting'])
    await vi.advanceTimersByTimeAsync(PROBE_MS * 4)
    expect(probe.mock.calls.length).toBeGreaterThanOrEqual(4)
    expect(socket.connection.reopens).toBe(0)
    await vi.advanceTimersByTimeAsync(OFFLINE_AFTER_MS)
    expect([a.status(), b.status()]).toEqual(['offline', 'offline'])

    up = true
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    expect(socket.connection.reopens).toBe(1)
    socket.connection.open = true
    socket.subs[0].callbacks.connected()
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    expect([a.status(), b.status()]).toEqual(['connected', 'connected'])
    expect(socket.connection.reopens).toBe(1)
    a.close()
    b.close()
    vi.useRealTimers()
  })

  it('backs off when reopened sockets do not stick, and never reopens one closed on purpose', async () => {
    vi.useFakeTimers()
    const { consumers, createConsumer } = fakeCable()
    const probe = vi.fn(async () => true)
    const a = createSharedCable({ createConsumer, locks: fakeLocks(), BroadcastChannelImpl: FakeChannel, probe })
    await vi.advanceTimersByTimeAsync(PROBE_MS)
    const { connection } = consumers[0]
    connection.open = false
    // /up answers but the socket never opens: 250, 500, 1000, 2000 ms apart, then at most 5 s.
    await vi.advanceTimersByTimeAsync(3900)
    expect(connection.reopens).toBe(4)
    await vi.advanceTimersByTimeAsync(20_000)
    expect(connection.reopens).toBeLessThanOrEqual(9)
    expect(connection.reopens).toBeGreaterThanOrEqual(7)

    connection.monitor = { isRunning: () => false }
    const before = probe.mock.calls.length
    await vi.advanceTimersByTimeAsync(10_000)
    expect(probe.mock.calls.length).toBe(before)
    expect(a.status()).toBe('offline')
    a.close()
  })

  it('falls back to the discover/ping election without Web Locks', async () => {
    vi.useFakeTimers()
    const { consumers, createConsumer } = fakeCable()
    const opts = { createConsumer, locks: null, BroadcastChannelImpl: FakeChannel }
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
