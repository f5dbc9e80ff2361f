// A gap older than the history: the server keeps one message per stream
// (`--cable-history-limit 1`), a member's network is cut (a TCP relay in between) and more
// changes than that are made meanwhile. On reconnect the server answers the history requests
// with reject_history, and the page recovers from the server instead: the accounts list,
// whose three subscriptions lose their history at once, does exactly one full reload of its
// props; the todo board in a second (follower) tab gets the news relayed and reloads its
// board. Neither navigates, and the status goes back to "Connected" without "Caught up".
// Screenshots of both pages while reconnecting.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { harness, eventually, relay, recordStatuses, screens, frames } from './support.mjs'

const h = harness({ env: { TRIFECTA_CABLE_HISTORY_LIMIT: '1' } })

const unexpected = (problems) =>
  problems.filter((p) => !/request failed|Failed to load resource|ERR_CONNECTION|ERR_EMPTY_RESPONSE|WebSocket connection/.test(p))

const pill = (page, status) => page.locator(`[data-testid="connection-status"][data-status="${status}"]`)

const isHistoryAnswer = (f) => f.type === 'confirm_history' || f.type === 'reject_history'

const isMarker = (f) => f.type === undefined && f.message !== undefined && f.identifier.includes('SyncChannel')

/**
 * Inertia GET requests of `page` for `path`, each followed from its start until it finished
 * or failed (a request already in flight when this began is not counted). `mark()` starts a
 * new window; `count()` tells the window's full (no partial-data header) and partial
 * requests, how many are still in flight and the failed ones; `idle()` whether every request
 * seen has settled.
 */
function inertiaRequests(page, path) {
  const seen = new Map()
  const ours = (req) => new URL(req.url()).pathname === path && req.headers()['x-inertia'] && req.method() === 'GET'
  page.on('request', (req) => {
    if (ours(req)) seen.set(req, { partial: Boolean(req.headers()['x-inertia-partial-data']), settled: false })
  })
  page.on('requestfinished', (req) => {
    if (seen.has(req)) seen.get(req).settled = true
  })
  page.on('requestfailed', (req) => {
    if (seen.has(req)) Object.assign(seen.get(req), { settled: true, failure: req.failure()?.errorText ?? 'failed' })
  })
  let from = 0
  return {
    mark: () => (from = seen.size),
    count() {
      const window = [...seen.values()].slice(from)
      return {
        full: window.filter((r) => !r.partial).length,
        partial: window.filter((r) => r.partial).length,
        inFlight: window.filter((r) => !r.settled).length,
        failed: window.filter((r) => r.failure).map((r) => r.failure),
      }
    },
    idle: () => [...seen.values()].every((r) => r.settled),
  }
}

async function createTeam(page, name, member) {
  await page.goto(h.base + '/accounts')
  await page.getByLabel('New team account').fill(name)
  await page.getByRole('button', { name: 'Create' }).click()
  await page.waitForURL(/\/accounts\/[A-Za-z0-9]+$/)
  await page.getByLabel('Add member by email').fill(member)
  await page.getByRole('button', { name: 'Add', exact: true }).click()
  await page.locator(`[data-testid=member][data-email="${member}"]`).waitFor()
  return new URL(page.url()).pathname.split('/').pop()
}

async function rename(page, id, name) {
  await page.goto(`${h.base}/accounts/${id}`)
  await page.getByLabel('Name', { exact: true }).fill(name)
  await page.getByRole('button', { name: 'Rename' }).click()
  await page.getByTestId('account-name').filter({ hasText: name }).waitFor()
}

const todoRow = (page, title) => page.getByTestId('todo').filter({ hasText: new RegExp(`^${title}Delete$`) })

async function addTodo(page, title) {
  await page.getByPlaceholder('What needs doing?').fill(title)
  await page.getByRole('button', { name: 'Add' }).click()
  await todoRow(page, title).waitFor()
}

test('a gap older than the history makes exactly one full props reload with the fresh data, and the board reloads', async () => {
  const net = await relay(h.base)
  const ann = await h.watchedPage()
  await h.signUp(ann.page, 'ann@example.com', 'Ann')
  const bob = await h.watchedPage()
  await h.signUp(bob.page, 'bob@example.com', 'Bob', net.base)
  const red = await createTeam(ann.page, 'Red team', 'bob@example.com')
  const green = await createTeam(ann.page, 'Green team', 'bob@example.com')

  // Bob's accounts list (the leader tab: its own stream and one per account) and his todo
  // board in a second tab (a follower: its TodosChannel goes through the leader's socket).
  const seen = frames(bob.page)
  const requests = inertiaRequests(bob.page, '/accounts')
  await bob.page.goto(net.base + '/accounts')
  for (const name of ['Red team', 'Green team']) await bob.page.getByTestId('account-row').filter({ hasText: name }).waitFor()
  await pill(bob.page, 'connected').waitFor()
  const board = await h.watch(await bob.context.newPage(), bob.problems)
  const boardRequests = inertiaRequests(board, '/todos')
  await board.goto(net.base + '/todos')
  await pill(board, 'connected').waitFor()
  assert.equal(await board.getByTestId('role-badge').getAttribute('data-role'), 'follower')
  // Every subscription (User, two Accounts, Todos) confirmed and its first history answer in.
  await eventually('four history answers', () => seen.filter(isHistoryAnswer).length >= 4)
  // A fresh subscription replays the last few seconds of markers (Ann adding Bob): the
  // partial reloads they cause (each 300 ms after its last marker) are done before the cut.
  const quiet = { markers: -1, since: 0 }
  await eventually(
    () => `the reloads before the cut: ${JSON.stringify(requests.count())}`,
    () => {
      const markers = seen.filter(isMarker).length
      if (markers !== quiet.markers) Object.assign(quiet, { markers, since: Date.now() })
      return requests.idle() && boardRequests.idle() && Date.now() - quiet.since > 1_000
    },
  )
  const statuses = await recordStatuses(bob.page)
  for (const p of [bob.page, board]) {
    await p.evaluate(() => {
      window.__sameDocument = 'still here'
    })
  }

  net.cut()
  requests.mark()
  boardRequests.mark()
  await pill(bob.page, 'reconnecting').waitFor()
  await pill(board, 'reconnecting').waitFor()
  await screens(bob.page, 'accounts-list-reconnecting')
  await screens(board, 'todos-follower-reconnecting')
  // Two changes on each account stream and on the board: more than the one message kept.
  await rename(ann.page, red, 'Red team 2')
  await rename(ann.page, red, 'Crimson team')
  await rename(ann.page, green, 'Green team 2')
  await rename(ann.page, green, 'Olive team')
  await ann.page.goto(h.base + '/todos')
  await addTodo(ann.page, 'first while Bob is away')
  await addTodo(ann.page, 'second while Bob is away')
  const answered = seen.filter(isHistoryAnswer).length
  assert.deepEqual(requests.count(), { full: 0, partial: 0, inFlight: 0, failed: [] }, 'nothing reloaded while cut')

  net.restore()
  for (const name of ['Crimson team', 'Olive team']) await bob.page.getByTestId('account-row').filter({ hasText: name }).waitFor()
  for (const title of ['first while Bob is away', 'second while Bob is away']) await todoRow(board, title).waitFor()
  // All answers to the resumed session's history requests are in (at least two rejected), and
  // every reload they caused has finished.
  await eventually('the history answers', () => seen.slice(0).filter(isHistoryAnswer).length >= answered + 4)
  const answers = seen.filter(isHistoryAnswer).slice(answered)
  assert.ok(answers.filter((f) => f.type === 'reject_history').length >= 3, JSON.stringify(answers))
  await eventually(
    () => `the reloads to finish: ${JSON.stringify(requests.count())}`,
    () => requests.count().inFlight === 0 && requests.count().full > 0,
  )
  const reloads = requests.count()
  assert.equal(reloads.full, 1, `one full reload of /accounts: ${JSON.stringify(reloads)}`)
  assert.ok(boardRequests.count().partial >= 1, 'the board reloaded its props')
  for (const p of [bob.page, board]) {
    assert.equal(await p.evaluate(() => window.__sameDocument), 'still here', 'no full page load')
  }
  assert.equal(seen.filter((f) => f.type === 'welcome').at(-1).restored, true, 'the session was restored')
  await pill(bob.page, 'connected').waitFor()
  const after = await statuses()
  assert.ok(after.includes('reconnecting') && !after.includes('caught-up'), `statuses: ${after.join(' → ')}`)

  assert.deepEqual(ann.problems, [])
  assert.deepEqual(unexpected(bob.problems), [])
  for (const s of [ann, bob]) await s.context.close()
  await net.close()
})
