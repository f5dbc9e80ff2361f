// The todo board as a tab holds it: the newest todos (at most `limit`), the version of the
// server's state they show, and the server's counts. Pure functions, no React: the page
// feeds them page props and TodosChannel messages and renders the result.
//
// Wire format (TodosChannel):
//   full list (on subscribe): {todos: [...], version: N, counts: {total, done}}
//   change batch:             {version: N, since: M, changes: [{id, todo} | {id, deleted: true}],
//                              counts: {total, done}}
// A server that sends no versions (older servers) only ever sends full lists; they replace.

/** Props the page reloads to resynchronise after a gap or a failure. */
export const BOARD_PROPS = ['todos', 'todosVersion', 'counts', 'limit']

const isCounts = (c) => c != null && Number.isFinite(c.total) && Number.isFinite(c.done)
const isVersion = (v) => Number.isFinite(v)

/** The board described by page props `{todos, todosVersion, counts, limit}`. */
export function fromProps(props = {}) {
  const todos = Array.isArray(props.todos) ? props.todos : []
  return {
    todos,
    version: isVersion(props.todosVersion) ? props.todosVersion : null,
    counts: isCounts(props.counts) ? props.counts : null,
    limit: Number.isFinite(props.limit) && props.limit > 0 ? props.limit : null,
  }
}

// Newest first by created_at, then by id as the server orders them (created_at DESC, id DESC).
// A todo the board does not hold yet was created after every todo it holds (ids and versions
// grow together), so it goes before the ones created at the same time.
const time = (todo) => {
  const t = Date.parse(todo?.created_at)
  return Number.isNaN(t) ? 0 : t
}

// Compares creation times; the server sends microseconds, which Date.parse drops, so equal
// milliseconds fall back to the (fixed-width) strings.
const compareCreated = (a, b) => {
  const d = time(a) - time(b)
  if (d !== 0) return d
  const [x, y] = [String(a?.created_at ?? ''), String(b?.created_at ?? '')]
  return x < y ? -1 : x > y ? 1 : 0
}

function upsert(todos, todo) {
  const at = todos.findIndex((t) => t.id === todo.id)
  if (at >= 0 && todos[at].created_at === todo.created_at) {
    const next = todos.slice()
    next[at] = todo
    return next
  }
  const rest = at >= 0 ? todos.filter((t) => t.id !== todo.id) : todos
  const before = rest.findIndex((t) => (at >= 0 ? compareCreated(t, todo) < 0 : compareCreated(t, todo) <= 0))
  const next = rest.slice()
  next.splice(before < 0 ? next.length : before, 0, todo)
  return next
}

/**
 * Applies a full list (`{todos, version?, counts?, limit?}`, e.g. fresh page props or a
 * TodosChannel full message) to `board`. Returns `{board, outcome}` with outcome 'replaced'
 * or 'ignored' (older than what the board shows).
 */
export function applyFull(board, full) {
  const version = isVersion(full.version) ? full.version : null
  if (version !== null && board.version !== null && version < board.version) return { board, outcome: 'ignored' }
  return {
    board: {
      todos: full.todos,
      version,
      counts: isCounts(full.counts) ? full.counts : null,
      limit: Number.isFinite(full.limit) && full.limit > 0 ? full.limit : board.limit,
    },
    outcome: 'replaced',
  }
}

/**
 * Applies one TodosChannel message. Returns `{board, outcome}`: 'replaced' (a full list),
 * 'applied' (a batch that follows on from the board's version), 'ignored' (old news or not
 * a board message) or 'gap' (a batch from past a version this tab never saw: reload
 * BOARD_PROPS; the board is unchanged).
 */
export function applyMessage(board, data) {
  if (!data || typeof data !== 'object') return { board, outcome: 'ignored' }
  if (Array.isArray(data.todos)) return applyFull(board, data)
  if (!Array.isArray(data.changes) || !isVersion(data.version)) return { board, outcome: 'ignored' }
  if (board.version !== null && data.version <= board.version) return { board, outcome: 'ignored' }
  const since = isVersion(data.since) ? data.since : null
  if (board.version === null || since === null || since > board.version) return { board, outcome: 'gap' }
  let todos = board.todos
  for (const change of data.changes) {
    if (!change || typeof change.id !== 'string') continue
    if (change.deleted) todos = todos.filter((t) => t.id !== change.id)
    else if (change.todo && change.todo.id === change.id) todos = upsert(todos, change.todo)
  }
  if (board.limit !== null && todos.length > board.limit) todos = todos.slice(0, board.limit)
  return {
    board: { ...board, todos, version: data.version, counts: isCounts(data.counts) ? data.counts : board.counts },
    outcome: 'applied',
  }
}

/**
 * What the page shows: the board with the optimistic `pending` overrides (by todo id:
 * `{completed}` for a toggle, `{deleted: true}` for a delete) laid over it, and the stats.
 * Stats come from the server's counts adjusted by the overrides; without counts, from the
 * list itself.
 */
export function view(board, pending = {}) {
  let total = board.counts ? board.counts.total : board.todos.length
  let done = board.counts ? board.counts.done : board.todos.filter((t) => t.completed).length
  const todos = []
  for (const todo of board.todos) {
    const p = pending[todo.id]
    if (p?.deleted) {
      total -= 1
      if (todo.completed) done -= 1
      continue
    }
    if (p && typeof p.completed === 'boolean' && p.completed !== todo.completed) {
      done += p.completed ? 1 : -1
      todos.push({ ...todo, completed: p.completed })
    } else {
      todos.push(todo)
    }
  }
  total = Math.max(total, todos.length)
  done = Math.min(Math.max(done, 0), total)
  return { todos, total, done, remaining: total - done, more: total > todos.length }
}
