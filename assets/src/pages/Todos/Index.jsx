// The shared todo board (seed "Real-Time Updates"): stats, an add form, a checkbox and a
// delete button per todo. Changes show at once (optimistic) and go to the server one at a
// time in click order, never cancelling each other; a change that fails rolls back that todo,
// says why, and the board reloads from the server. Live updates come from TodosChannel
// through the tab that holds the shared WebSocket: full lists replace the board, change
// batches are applied by version, and a gap reloads the board props.
import { Head, router, usePage } from '@inertiajs/react'
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react'
import { ConnectionStatus, EventLogPanel, PresenceList, RoleBadge, realtime, useChannel } from '../../realtime/react.jsx'
import { BOARD_PROPS, applyFull, applyMessage, fromProps, view } from '../../realtime/todoBoard.js'
import { createQueue, describeFailure, sendTodoRequest } from '../../realtime/mutations.js'

// The board's subscription (its todos, and who is looking at it).
const BOARD = { channel: 'TodosChannel' }

// The board this tab shows, fed by page props (visits, "Show more") and by `apply`.
function useBoard(props) {
  const [board, setBoard] = useState(() => fromProps(props))
  const ref = useRef(board)
  const apply = useCallback((fn) => {
    const result = fn(ref.current)
    if (result.board !== ref.current) {
      ref.current = result.board
      setBoard(result.board)
    }
    return result.outcome
  }, [])
  const { todos, todosVersion, counts, limit } = props
  useEffect(() => {
    apply((b) => applyFull(b, fromProps({ todos, todosVersion, counts, limit })))
  }, [apply, todos, todosVersion, counts, limit])
  return [board, apply, ref]
}

export default function TodosIndex(props) {
  const { errors = {} } = props
  const page = usePage()
  const [board, apply, boardRef] = useBoard(props)
  // Optimistic overrides by todo id: {completed, seq} or {deleted: true, seq}; `seq` tells
  // the latest action on a todo from older ones still queued.
  const [pending, setPending] = useState({})
  const [problem, setProblem] = useState(null)
  const [title, setTitle] = useState('')
  const [titleError, setTitleError] = useState(null)
  const [adding, setAdding] = useState(false)
  const queue = useRef(null)
  if (queue.current === null) queue.current = createQueue()
  const seq = useRef(0)
  // The asset version for requests sent from callbacks, kept current after each commit.
  const versionRef = useRef(page.version)
  useLayoutEffect(() => {
    versionRef.current = page.version
  }, [page.version])

  const request = useCallback(
    (options) => sendTodoRequest({ ...options, version: versionRef.current }),
    [],
  )

  // Takes the board a request answered with, unless it shows a different window.
  const take = useCallback(
    (props) => {
      const fresh = fromProps(props)
      const mine = boardRef.current.limit
      if (fresh.limit !== null && mine !== null && fresh.limit !== mine) return false
      apply((b) => applyFull(b, fresh))
      return true
    },
    [apply, boardRef],
  )

  // Reloads the board props from the server: a partial reload sent through the queue like
  // the mutations (no visit can cancel it, and it cannot take a refusal meant for one of
  // them); one waiting at a time is enough. Quietly gives up when the server cannot be
  // reached: the socket sends the full list again when it reconnects.
  const refreshQueued = useRef(false)
  const refresh = useCallback(() => {
    if (refreshQueued.current) return
    refreshQueued.current = true
    queue.current
      .push(() => {
        refreshQueued.current = false
        const limit = boardRef.current.limit
        return request({ method: 'GET', url: limit ? `/todos?limit=${limit}` : '/todos' })
      })
      .then((outcome) => {
        if (outcome.ok) apply((b) => applyFull(b, fromProps(outcome.props)))
      })
  }, [apply, boardRef, request])

  // Changes missed while the socket was down are replayed after the reconnect; when they
  // cannot be (history_not_found), the board takes the same way back as for a gap.
  useChannel(
    BOARD,
    (data) => {
      const outcome = apply((b) => applyMessage(b, data))
      if (outcome === 'gap') {
        realtime().log.add('broadcast', 'todos: missed a change; reloading the board')
        refresh()
      } else if (outcome !== 'ignored') {
        const n = Array.isArray(data?.changes) ? `${data.changes.length} change(s)` : `${data?.todos?.length} todos`
        realtime().log.add('broadcast', `todos: ${n} received`)
      }
    },
    (event) => {
      if (event?.type !== 'history_not_found') return
      realtime().log.add('broadcast', 'todos: missed changes are gone; reloading the board')
      refresh()
    },
  )

  const settle = useCallback((id, mine) => {
    setPending((p) => {
      if (p[id]?.seq !== mine) return p
      const next = { ...p }
      delete next[id]
      return next
    })
  }, [])

  // What a failed request leads to: the message, then the server's board.
  const failed = useCallback(
    (outcome, action) => {
      setProblem(describeFailure(outcome, action))
      if (outcome.kind === 'stale') {
        window.location.assign(outcome.location || window.location.href)
        return
      }
      if (outcome.kind === 'signedOut') {
        router.visit('/login')
        return
      }
      if (outcome.props && take(outcome.props)) return
      refresh()
    },
    [refresh, take],
  )

  const mutate = (todo, override, action, options) => {
    setProblem(null)
    seq.current += 1
    const mine = seq.current
    setPending((p) => ({ ...p, [todo.id]: { ...override, seq: mine } }))
    queue.current
      .push(() => request({ ...options, id: todo.id }))
      .then((outcome) => {
        if (outcome.ok) take(outcome.props) || refresh()
        else failed(outcome, action)
        settle(todo.id, mine)
      })
  }

  const toggle = (todo) =>
    mutate(todo, { completed: !todo.completed }, 'update', {
      method: 'PATCH',
      url: `/todos/${encodeURIComponent(todo.id)}`,
      body: { todo: { completed: !todo.completed } },
    })

  const remove = (todo) =>
    mutate(todo, { deleted: true }, 'delete', { method: 'DELETE', url: `/todos/${encodeURIComponent(todo.id)}` })

  const add = (event) => {
    event.preventDefault()
    const sent = title
    setProblem(null)
    setTitleError(null)
    setAdding(true)
    queue.current
      .push(() => request({ method: 'POST', url: '/todos', body: { todo: { title: sent } } }))
      .then((outcome) => {
        setAdding(false)
        if (outcome.ok) {
          take(outcome.props) || refresh()
          // Keep whatever was typed meanwhile.
          setTitle((now) => (now === sent ? '' : now))
        } else if (outcome.kind === 'refused' && outcome.errors?.title) {
          setTitleError(outcome.errors.title)
          if (outcome.props) take(outcome.props)
        } else {
          failed(outcome, 'add')
        }
      })
  }

  const showMore = () => {
    const shown = Math.max(board.limit ?? 0, board.todos.length)
    router.reload({ data: { limit: shown * 2 }, only: BOARD_PROPS, preserveScroll: true })
  }

  const shown = view(board, pending)
  const fieldError = titleError || errors.title
  return (
    <>
      <Head title="Todos" />
      <section className="todos">
        <header className="todos-header">
          <h1>Todos</h1>
          <div className="realtime-meta">
            <RoleBadge />
            <ConnectionStatus />
          </div>
        </header>
        <PresenceList identifier={BOARD} />
        <dl className="stats" data-testid="stats">
          <div>
            <dt>Total</dt>
            <dd data-testid="stat-total">{shown.total}</dd>
          </div>
          <div>
            <dt>Done</dt>
            <dd data-testid="stat-done">{shown.done}</dd>
          </div>
          <div>
            <dt>Remaining</dt>
            <dd data-testid="stat-remaining">{shown.remaining}</dd>
          </div>
        </dl>
        <form className="todo-form" onSubmit={add} noValidate>
          <label htmlFor="todo-title" className="visually-hidden">
            New todo
          </label>
          <input
            id="todo-title"
            type="text"
            placeholder="What needs doing?"
            value={title}
            maxLength={600}
            onChange={(e) => setTitle(e.target.value)}
            aria-invalid={fieldError ? 'true' : undefined}
          />
          <button type="submit" className="button" disabled={adding}>
            Add
          </button>
        </form>
        {fieldError && (
          <p className="field-error" role="alert" data-testid="title-error">
            Title {fieldError}
          </p>
        )}
        {(problem || errors.todo) && (
          <p className="todo-problem" role="alert" data-testid="todo-problem">
            {problem || errors.todo}
          </p>
        )}
        {shown.todos.length === 0 ? (
          <p className="empty" data-testid="empty">
            Nothing to do. Add the first todo above.
          </p>
        ) : (
          <ul className="todo-list" data-testid="todo-list">
            {shown.todos.map((todo) => (
              <li key={todo.id} className={todo.completed ? 'todo done' : 'todo'} data-testid="todo" data-id={todo.id}>
                <label>
                  <input type="checkbox" checked={todo.completed} onChange={() => toggle(todo)} />
                  <span className="todo-title">{todo.title}</span>
                </label>
                <button type="button" className="link-button danger" aria-label={`Delete ${todo.title}`} onClick={() => remove(todo)}>
                  Delete
                </button>
              </li>
            ))}
          </ul>
        )}
        {shown.more && (
          <p className="todo-window" data-testid="todo-window">
            <span>
              Showing the newest {shown.todos.length} of {shown.total}
            </span>
            <button type="button" className="button secondary" onClick={showMore}>
              Show more
            </button>
          </p>
        )}
      </section>
      <EventLogPanel />
    </>
  )
}
