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

/** Inertia requests of `page` for `path`: full ones (no partial-data header) and partial ones. */
function inertiaRequests(page, path) {
  const seen = { full: 0, partial: 0, finished: 0 }
  page.on('request', (req) => {
    const headers = req.headers()
    if (new URL(req.url()).pathname !== path || !headers['x-inertia'] || req.method() !== 'GET') return
    if (headers['x-inertia-partial-data']) seen.partial += 1
    else seen.full += 1
  })
  page.on('requestfinished', (req) => {
    if (new URL(req.url()).pathname === path && req.headers()['x-inertia']) seen.finished += 1
  })
  return seen
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
  await bob.page.goto(net.base + '/accounts')
  for (const name of ['Red team', 'Green team']) await bob.page.getByTestId('account-row').filter({ hasText: name }).waitFor()
  await pill(bob.page, 'connected').waitFor()
  const board = await h.watch(await bob.context.newPage(), bob.problems)
  await board.goto(net.base + '/todos')
  await pill(board, 'connected').waitFor()
  assert.equal(await board.getByTestId('role-badge').getAttribute('data-role'), 'follower')
  // Every subscription (User, two Accounts, Todos) confirmed and its first history answer in.
  await eventually('four history answers', () => seen.filter(isHistoryAnswer).length >= 4)
  const requests = inertiaRequests(bob.page, '/accounts')
  const boardRequests = inertiaRequests(board, '/todos')
  const statuses = await recordStatuses(bob.page)
  for (const p of [bob.page, board]) {
    await p.evaluate(() => {
      window.__sameDocument = 'still here'
    })
  }

  net.cut()
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
  assert.equal(requests.full + requests.partial, 0, 'nothing reloaded while cut')

  net.restore()
  for (const name of ['Crimson team', 'Olive team']) await bob.page.getByTestId('account-row').filter({ hasText: name }).waitFor()
  for (const title of ['first while Bob is away', 'second while Bob is away']) await todoRow(board, title).waitFor()
  // All answers to the resumed session's history requests are in (at least two rejected), and
  // every reload they caused has finished.
  await eventually('the history answers', () => seen.slice(0).filter(isHistoryAnswer).length >= answered + 4)
  const answers = seen.filter(isHistoryAnswer).slice(answered)
  assert.ok(answers.filter((f) => f.type === 'reject_history').length >= 3, JSON.stringify(answers))
  await eventually('the reloads to finish', () => requests.finished === requests.full + requests.partial && requests.full > 0)
  assert.equal(requests.full, 1, `one full reload of /accounts (and ${requests.partial} partial)`)
  assert.ok(boardRequests.partial >= 1, 'the board reloaded its props')
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
