// Unit tests (vitest) for the todo board (versions, change batches, gaps, stats) and the
// mutation queue and its outcomes.
import { describe, expect, it, vi } from 'vitest'
import { applyFull, applyMessage, fromProps, view } from './todoBoard.js'
import { createQueue, describeFailure, readCookie, readOutcome, sendTodoRequest } from './mutations.js'

const todo = (id, minute, completed = false) => ({
  id,
  title: `todo ${id}`,
  completed,
  created_at: `2026-12-06T10:${String(minute).padStart(2, '0')}:00+00:00`,
})

const board = (todos, version = 5, counts = null, limit = 3) =>
  fromProps({ todos, todosVersion: version, counts: counts ?? { total: todos.length, done: 0 }, limit })

const page = (props, status = 200) =>
  new Response(JSON.stringify({ component: 'Todos/Index', props: { errors: {}, ...props }, url: '/todos', version: 'v' }), {
    status,
    headers: { 'Content-Type': 'application/json', 'X-Inertia': 'true' },
  })

describe('todo board', () => {
  it('replaces on a full list at or above its version and ignores an older one', () => {
    const b = board([todo('a', 1)], 5)
    const newer = applyFull(b, { todos: [todo('b', 2)], version: 5, counts: { total: 1, done: 0 } })
    expect(newer.outcome).toBe('replaced')
    expect(newer.board.todos.map((t) => t.id)).toEqual(['b'])
    const older = applyMessage(newer.board, { todos: [todo('c', 3)], version: 4 })
    expect(older.outcome).toBe('ignored')
    expect(older.board.todos.map((t) => t.id)).toEqual(['b'])
  })

  it('a list without a version (an older server) always replaces', () => {
    const b = board([todo('a', 1)], 5)
    const r = applyMessage(b, { todos: [todo('z', 1, true)] })
    expect(r.outcome).toBe('replaced')
    expect(view(r.board)).toMatchObject({ total: 1, done: 1, more: false })
  })

  it('applies a batch that follows on: upserts by created_at, removes, trims, takes counts', () => {
    const b = board([todo('c', 3), todo('b', 2), todo('a', 1)], 5, { total: 4, done: 0 })
    const r = applyMessage(b, {
      version: 7,
      since: 5,
      changes: [
        { id: 'd', todo: todo('d', 4) },
        { id: 'b', todo: todo('b', 2, true) },
        { id: 'c', deleted: true },
        { id: 'e', todo: todo('e', 0) },
      ],
      counts: { total: 5, done: 1 },
    })
    expect(r.outcome).toBe('applied')
    // e is older than everything shown: it lands last and the window (3) trims it away.
    expect(r.board.todos.map((t) => t.id)).toEqual(['d', 'b', 'a'])
    expect(r.board.todos[1].completed).toBe(true)
    expect(r.board.version).toBe(7)
    expect(view(r.board)).toMatchObject({ total: 5, done: 1, remaining: 4, more: true })
  })

  it('puts todos created in the same instant newest first, as the server lists them', () => {
    const b = board([todo('b', 2), todo('a', 1)], 5, { total: 2, done: 0 }, 10)
    const r = applyMessage(b, {
      version: 8,
      since: 5,
      changes: [
        { id: 'c', todo: todo('c', 2) },
        { id: 'd', todo: todo('d', 2) },
        { id: 'b', todo: todo('b', 2, true) },
      ],
      counts: { total: 4, done: 1 },
    })
    expect(r.outcome).toBe('applied')
    // Server order: created_at DESC, id DESC, so d (newest) before c before b.
    expect(r.board.todos.map((t) => t.id)).toEqual(['d', 'c', 'b', 'a'])
    expect(r.board.todos[2].completed).toBe(true)
  })

  it('ignores a batch it already has and reports a gap without touching the board', () => {
    const b = board([todo('a', 1)], 5)
    expect(applyMessage(b, { version: 5, since: 4, changes: [{ id: 'a', deleted: true }] }).outcome).toBe('ignored')
    const gap = applyMessage(b, { version: 8, since: 6, changes: [{ id: 'a', deleted: true }] })
    expect(gap.outcome).toBe('gap')
    expect(gap.board).toBe(b)
    // A board with no version yet cannot apply deltas either.
    expect(applyMessage(fromProps({ todos: [] }), { version: 2, since: 1, changes: [] }).outcome).toBe('gap')
    expect(applyMessage(b, 'garbage').outcome).toBe('ignored')
  })

  it('lays optimistic overrides over the server counts', () => {
    const b = board([todo('a', 2, true), todo('b', 1)], 5, { total: 10, done: 4 })
    const v = view(b, { a: { deleted: true }, b: { completed: true } })
    expect(v.todos.map((t) => [t.id, t.completed])).toEqual([['b', true]])
    expect(v).toMatchObject({ total: 9, done: 4, remaining: 5, more: true })
  })
})

describe('mutation queue', () => {
  it('runs tasks one at a time in order, and a failure does not stop the next', async () => {
    const q = createQueue()
    const log = []
    let release
    const first = q.push(
      () =>
        new Promise((resolve) => {
          log.push('start 1')
          release = () => resolve(1)
        }),
    )
    const second = q.push(async () => {
      log.push('start 2')
      throw new Error('refused')
    })
    const third = q.push(async () => log.push('start 3'))
    await Promise.resolve()
    expect(log).toEqual(['start 1'])
    expect(q.size()).toBe(3)
    release()
    await expect(first).resolves.toBe(1)
    await expect(second).rejects.toThrow('refused')
    await third
    expect(log).toEqual(['start 1', 'start 2', 'start 3'])
    expect(q.size()).toBe(0)
  })

  it('sends the XSRF token, the Inertia version and a partial reload of the board props', async () => {
    const fetchImpl = vi.fn(async () => page({ todos: [] }))
    const outcome = await sendTodoRequest({
      method: 'PATCH',
      url: '/todos/abc',
      body: { todo: { completed: true } },
      version: 'v1',
      cookies: 'a=b; XSRF-TOKEN=tok%3D1; c=d',
      fetchImpl,
    })
    expect(outcome).toEqual({ ok: true, props: { errors: {}, todos: [] } })
    const [url, init] = fetchImpl.mock.calls[0]
    expect(url).toBe('/todos/abc')
    expect(init.method).toBe('PATCH')
    expect(init.body).toBe('{"todo":{"completed":true}}')
    expect(init.headers).toMatchObject({
      'X-XSRF-TOKEN': 'tok=1',
      'X-Inertia': 'true',
      'X-Inertia-Version': 'v1',
      'X-Inertia-Partial-Component': 'Todos/Index',
      'X-Inertia-Partial-Data': 'todos,todosVersion,counts,limit',
      'Content-Type': 'application/json',
    })
  })

  it('names the cause of each failure', async () => {
    const offline = await sendTodoRequest({ method: 'DELETE', url: '/todos/a', fetchImpl: () => Promise.reject(new TypeError('Failed to fetch')) })
    expect(describeFailure(offline, 'delete')).toBe('You are offline — the change was not saved.')
    expect(describeFailure(offline, 'add')).toMatch(/^You are offline — the todo was not added/)

    const hung = await sendTodoRequest({
      method: 'DELETE',
      url: '/todos/a',
      timeoutMs: 5,
      fetchImpl: (_url, init) =>
        new Promise((_resolve, reject) => init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))),
    })
    expect(hung.kind).toBe('timeout')

    const gone = await readOutcome(page({ errors: { todo: 'This todo no longer exists.' }, todos: [todo('b', 1)] }), 'a')
    expect(gone.kind).toBe('notFound')
    expect(describeFailure(gone, 'update')).toBe('That todo was deleted by someone else.')
    expect((await readOutcome(new Response('', { status: 404 }), 'a')).kind).toBe('notFound')

    const refused = await readOutcome(page({ errors: { todo: 'You are not allowed to change this todo.' }, todos: [todo('a', 1)] }), 'a')
    expect(refused).toMatchObject({ ok: false, kind: 'refused', message: 'You are not allowed to change this todo.' })

    const unprocessable = await readOutcome(new Response('title is too long', { status: 422 }), 'a')
    expect(describeFailure(unprocessable, 'update')).toBe('title is too long')
    const broken = await readOutcome(new Response('<html>oops</html>', { status: 500 }))
    expect(describeFailure(broken, 'update')).toBe('The server could not save the change (HTTP 500).')

    const login = new Response(JSON.stringify({ component: 'Auth/Login', props: {} }), { headers: { 'X-Inertia': 'true' } })
    expect((await readOutcome(login)).kind).toBe('signedOut')
  })

  it('reads cookies by exact name', () => {
    expect(readCookie('XSRF-TOKEN-OLD=x; XSRF-TOKEN=y', 'XSRF-TOKEN')).toBe('y')
    expect(readCookie('', 'XSRF-TOKEN')).toBe('')
  })
})
