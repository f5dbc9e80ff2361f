// Todo mutations that are never cancelled. Inertia cancels a visit still in flight when the
// next one starts, so quick toggles sent as visits were lost; these go out as plain fetch
// requests, one at a time in click order (a FIFO queue), and each one's outcome is its own.
//
// A request carries the Inertia headers (with the current asset version and a partial reload
// of the board props), so the server's 303 back to /todos is followed by the browser and
// answers with the board as it is after the change, plus `errors` when the change was refused.
// Requests run one at a time because a refusal travels in a one-shot cookie that the next
// GET consumes: two in flight could read each other's errors.
import { BOARD_PROPS } from './todoBoard.js'

/** How long one request may take before the tab gives up on it and says so. */
export const TIMEOUT_MS = 15000

/** A FIFO queue: `push(task)` runs `task()` after every task pushed before it settled. */
export function createQueue() {
  let tail = Promise.resolve()
  let waiting = 0
  return {
    push(task) {
      waiting += 1
      const run = tail.then(() => task())
      tail = run.then(
        () => {},
        () => {},
      )
      return run.finally(() => {
        waiting -= 1
      })
    },
    size: () => waiting,
  }
}

/** The value of cookie `name` in `cookies` (a `document.cookie` string), or ''. */
export function readCookie(cookies, name) {
  for (const part of (cookies ?? '').split(';')) {
    const at = part.indexOf('=')
    if (at > 0 && part.slice(0, at).trim() === name) return decodeURIComponent(part.slice(at + 1).trim())
  }
  return ''
}

function headers({ version, cookies, json }) {
  const h = {
    Accept: 'text/html, application/xhtml+xml',
    'X-Requested-With': 'XMLHttpRequest',
    'X-Inertia': 'true',
    'X-Inertia-Partial-Component': 'Todos/Index',
    'X-Inertia-Partial-Data': BOARD_PROPS.join(','),
  }
  if (version) h['X-Inertia-Version'] = version
  const token = readCookie(cookies, 'XSRF-TOKEN')
  if (token) h['X-XSRF-TOKEN'] = token
  if (json) h['Content-Type'] = 'application/json'
  return h
}

/**
 * Reads a response to a todo request (after the redirect was followed) into an outcome:
 * `{ok: true, props}` or `{ok: false, kind, message?, props?}` with kind 'refused',
 * 'notFound', 'signedOut', 'stale' (new assets: `location` to load), or 'server'.
 * `id` is the todo the request was about, if any.
 */
export async function readOutcome(response, id = null) {
  const status = response.status
  if (status === 409) return { ok: false, kind: 'stale', location: response.headers.get('X-Inertia-Location') }
  if (status === 404) return { ok: false, kind: 'notFound' }
  const inertia = response.headers.get('X-Inertia') === 'true'
  if (!response.ok || !inertia) {
    let text = ''
    try {
      text = (await response.text()).trim()
    } catch {
      text = ''
    }
    if (!response.ok && status >= 400 && status < 500 && text && text.length < 300 && !text.startsWith('<')) {
      return { ok: false, kind: 'refused', message: text }
    }
    return { ok: false, kind: 'server', message: `The server could not save the change (HTTP ${status}).` }
  }
  let page
  try {
    page = await response.json()
  } catch {
    return { ok: false, kind: 'server', message: 'The server sent an answer the page cannot read.' }
  }
  if (page?.component !== 'Todos/Index') return { ok: false, kind: 'signedOut' }
  const props = page.props ?? {}
  const errors = props.errors ?? {}
  const message = errors.todo || (errors.title ? `Title ${errors.title}` : null) || Object.values(errors)[0]
  if (!message) return { ok: true, props }
  const todos = Array.isArray(props.todos) ? props.todos : null
  if (id !== null && errors.todo && todos && !todos.some((t) => t.id === id)) {
    return { ok: false, kind: 'notFound', props }
  }
  return { ok: false, kind: 'refused', message: String(message), errors, props }
}

/**
 * Sends one request and resolves with its outcome (never rejects): the outcomes of
 * `readOutcome`, or `{ok: false, kind: 'offline'}` when the server cannot be reached, or
 * `{ok: false, kind: 'timeout'}` after `timeoutMs`.
 */
export async function sendTodoRequest({
  method,
  url,
  body,
  id = null,
  version,
  cookies = globalThis.document?.cookie,
  fetchImpl = globalThis.fetch,
  timeoutMs = TIMEOUT_MS,
}) {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), timeoutMs)
  try {
    const response = await fetchImpl(url, {
      method,
      credentials: 'same-origin',
      headers: headers({ version, cookies, json: body !== undefined }),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: abort.signal,
    })
    return await readOutcome(response, id)
  } catch (err) {
    if (abort.signal.aborted) return { ok: false, kind: 'timeout' }
    if (err?.name === 'AbortError') return { ok: false, kind: 'timeout' }
    return { ok: false, kind: 'offline' }
  } finally {
    clearTimeout(timer)
  }
}

/** What the user reads when a todo action fails; `action` is 'add', 'update' or 'delete'. */
export function describeFailure(outcome, action) {
  switch (outcome.kind) {
    case 'offline':
      return action === 'add'
        ? 'You are offline — the todo was not added. Its title is still in the box.'
        : 'You are offline — the change was not saved.'
    case 'timeout':
      return 'The server did not answer in time — the change may not have been saved.'
    case 'notFound':
      return 'That todo was deleted by someone else.'
    case 'signedOut':
      return 'Your session has ended — sign in again to make changes.'
    case 'stale':
      return 'The app was updated — reloading the page.'
    default:
      return outcome.message || `The server refused to ${action} that todo.`
  }
}
