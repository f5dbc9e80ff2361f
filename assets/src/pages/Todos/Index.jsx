// The shared todo board (seed "Real-Time Updates"): stats, an add form, a checkbox and a
// delete button per todo with optimistic updates that roll back when the server refuses,
// and live updates from TodosChannel through the tab that holds the shared WebSocket.
import { Head, router, useForm } from '@inertiajs/react'
import { useCallback, useMemo, useState } from 'react'
import { ConnectionStatus, EventLogPanel, RoleBadge, realtime, useChannel } from '../../realtime/react.jsx'

export default function TodosIndex({ todos = [], errors = {} }) {
  // Optimistic overrides by todo id: {completed} for toggles, {deleted: true} for deletes.
  const [pending, setPending] = useState({})
  const [problem, setProblem] = useState(null)
  const form = useForm({ title: '' })

  useChannel({ channel: 'TodosChannel' }, (data) => {
    if (data && Array.isArray(data.todos)) {
      realtime().log.add('broadcast', `todos: ${data.todos.length} received`)
      router.replaceProp('todos', data.todos)
    }
  })

  const shown = useMemo(
    () =>
      todos
        .filter((t) => !pending[t.id]?.deleted)
        .map((t) => (pending[t.id] && 'completed' in pending[t.id] ? { ...t, completed: pending[t.id].completed } : t)),
    [todos, pending],
  )
  const done = shown.filter((t) => t.completed).length

  const settle = useCallback((id) => {
    setPending((p) => {
      const next = { ...p }
      delete next[id]
      return next
    })
  }, [])

  const refuse = (id, what) => (errs) => {
    settle(id)
    setProblem(errs?.todo || errs?.title || `The server refused to ${what} that todo.`)
  }

  const toggle = (todo) => {
    setProblem(null)
    setPending((p) => ({ ...p, [todo.id]: { completed: !todo.completed } }))
    router.patch(
      `/todos/${todo.id}`,
      { todo: { completed: !todo.completed } },
      {
        preserveScroll: true,
        onError: refuse(todo.id, 'update'),
        onSuccess: () => settle(todo.id),
        onNetworkError: refuse(todo.id, 'update'),
      },
    )
  }

  const remove = (todo) => {
    setProblem(null)
    setPending((p) => ({ ...p, [todo.id]: { deleted: true } }))
    router.delete(`/todos/${todo.id}`, {
      preserveScroll: true,
      onError: refuse(todo.id, 'delete'),
      onSuccess: () => settle(todo.id),
      onNetworkError: refuse(todo.id, 'delete'),
    })
  }

  const add = (event) => {
    event.preventDefault()
    setProblem(null)
    form.transform((data) => ({ todo: { title: data.title } }))
    form.post('/todos', { preserveScroll: true, onSuccess: () => form.reset('title') })
  }

  const titleError = form.errors.title || errors.title
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
        <dl className="stats" data-testid="stats">
          <div>
            <dt>Total</dt>
            <dd data-testid="stat-total">{shown.length}</dd>
          </div>
          <div>
            <dt>Done</dt>
            <dd data-testid="stat-done">{done}</dd>
          </div>
          <div>
            <dt>Remaining</dt>
            <dd data-testid="stat-remaining">{shown.length - done}</dd>
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
            value={form.data.title}
            maxLength={600}
            onChange={(e) => form.setData('title', e.target.value)}
            aria-invalid={titleError ? 'true' : undefined}
          />
          <button type="submit" className="button" disabled={form.processing}>
            Add
          </button>
        </form>
        {titleError && (
          <p className="field-error" role="alert" data-testid="title-error">
            Title {titleError}
          </p>
        )}
        {(problem || errors.todo) && (
          <p className="field-error" role="alert" data-testid="todo-problem">
            {problem || errors.todo}
          </p>
        )}
        {shown.length === 0 ? (
          <p className="empty" data-testid="empty">
            Nothing to do. Add the first todo above.
          </p>
        ) : (
          <ul className="todo-list" data-testid="todo-list">
            {shown.map((todo) => (
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
      </section>
      <EventLogPanel />
    </>
  )
}
