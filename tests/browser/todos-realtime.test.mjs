// The todo board as users hit it (issue #15), in headless Chromium against the release
// binary: quick toggles and deletes over a slow network are all delivered and every user and
// the server end equal; adding while the server is down says so and keeps the title; follower
// tabs show the shared socket's status at once; after a server restart every tab is live
// again within a second. Also saves screenshots of the board at desktop and phone widths.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { harness, eventually, screens, SCREENS } from './support.mjs'

const h = harness()

// Not a wait for an effect: the scenario's own timing (injected network delay, the gap
// between a user's clicks).
const pause = (ms) => new Promise((r) => setTimeout(r, ms))

/** Every todo request of `page` waits `ms` first (on top of the loopback round trip). */
async function slowNetwork(page, ms) {
  await page.route(/\/todos(\/|\?|$)/, async (route) => {
    await pause(ms)
    await route.continue().catch(() => {})
  })
}

/** The server's list, [title, completed] newest first, read from the page props of GET /todos. */
async function serverTodos(context) {
  const res = await context.request.get(h.base + '/todos')
  const html = await res.text()
  const json = html.match(/<script data-page="app" type="application\/json">(.*?)<\/script>/s)?.[1]
  assert.ok(json, 'the page object is embedded')
  return JSON.parse(json).props.todos.map((t) => [t.title, t.completed])
}

/** What `page` shows, in the same shape as serverTodos. */
const shownTodos = (page) =>
  page.getByTestId('todo').evaluateAll((items) =>
    items.map((li) => [li.querySelector('.todo-title').textContent, li.querySelector('input[type=checkbox]').checked]),
  )

const status = (page) => page.getByTestId('connection-status').getAttribute('data-status')
/** The status pill of a live socket: "Connected", or "Caught up" just after a reconnect. */
const LIVE = '[data-testid="connection-status"][data-status="connected"], [data-testid="connection-status"][data-status="caught-up"]'
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b)
const row = (page, title) => page.getByTestId('todo').filter({ hasText: new RegExp(`^${title}Delete$`) })

async function add(page, title) {
  await page.getByPlaceholder('What needs doing?').fill(title)
  await page.getByRole('button', { name: 'Add' }).click()
  await row(page, title).waitFor()
}

/** Problems other than the network failures a stopped server causes on purpose. */
const unexpected = (problems) =>
  problems.filter((p) => !/request failed|Failed to load resource|ERR_CONNECTION_REFUSED|WebSocket connection/.test(p))

/** Waits until the server, A and B list the same todos, and returns that list. */
async function converged(a, b) {
  let last
  await eventually(
    'A, B and the server to agree',
    async () => {
      const [server, shownA, shownB] = await Promise.all([serverTodos(a.context), shownTodos(a.page), shownTodos(b.page)])
      last = { server, shownA, shownB }
      return same(server, shownA) && same(server, shownB)
    },
    10_000,
  ).catch((err) => {
    throw new Error(`${err.message}\n${JSON.stringify(last)}`)
  })
  return last.server
}

async function twoUsers(prefix) {
  const a = await h.watchedPage()
  const b = await h.watchedPage()
  await h.signUp(a.page, `${prefix}-a@example.com`, 'Ann')
  await h.signUp(b.page, `${prefix}-b@example.com`, 'Ben')
  for (const p of [a.page, b.page]) await p.locator('[data-testid="connection-status"][data-status="connected"]').waitFor()
  return { a, b }
}

for (const gap of [150, 0]) {
  test(`three toggles ${gap} ms apart over a 300 ms network all reach the server and the other user`, async () => {
    const { a, b } = await twoUsers(`toggle${gap}`)
    const names = ['one', 'two', 'three'].map((n) => `tick ${n} ${gap}`)
    for (const name of names) await add(a.page, name)
    await converged(a, b)
    await slowNetwork(a.page, 300)
    for (const name of names) {
      await row(a.page, name).getByRole('checkbox').click()
      if (gap) await pause(gap)
    }
    const list = await converged(a, b)
    for (const name of names) assert.deepEqual(list.find(([t]) => t === name), [name, true], `${name} is done on the server`)
    assert.deepEqual([...a.problems, ...b.problems], [])
    await a.context.close()
    await b.context.close()
  })

  test(`three deletes ${gap} ms apart over a 300 ms network all reach the server and the other user`, async () => {
    const { a, b } = await twoUsers(`delete${gap}`)
    const names = ['one', 'two', 'three'].map((n) => `drop ${n} ${gap}`)
    for (const name of names) await add(a.page, name)
    await add(a.page, `keep ${gap}`)
    await converged(a, b)
    await slowNetwork(a.page, 300)
    for (const name of names) {
      await row(a.page, name).getByRole('button', { name: 'Delete' }).click()
      if (gap) await pause(gap)
    }
    await eventually('the deletes to reach the server', async () => {
      const titles = (await serverTodos(a.context)).map(([t]) => t)
      return names.every((n) => !titles.includes(n))
    })
    const list = await converged(a, b)
    assert.ok(list.some(([t]) => t === `keep ${gap}`))
    assert.deepEqual([...a.problems, ...b.problems], [])
    await a.context.close()
    await b.context.close()
  })
}

test('a toggle of a todo someone else deleted rolls back and says so', async () => {
  const { a, b } = await twoUsers('gone')
  await add(a.page, 'deleted under me')
  await row(b.page, 'deleted under me').waitFor()
  // Hold A's toggle until B's delete has reached the server.
  await a.page.route(/\/todos\/[^/?]+$/, async (route) => {
    await eventually('B to delete it', async () => !(await serverTodos(b.context)).some(([t]) => t === 'deleted under me'))
    await route.continue()
  })
  await row(a.page, 'deleted under me').getByRole('checkbox').click()
  await row(b.page, 'deleted under me').getByRole('button', { name: 'Delete' }).click()
  await a.page.getByTestId('todo-problem').filter({ hasText: 'That todo was deleted by someone else.' }).waitFor()
  await converged(a, b)
  assert.deepEqual([...a.problems, ...b.problems], [])
  await a.context.close()
  await b.context.close()
})

test('with the server stopped: adding says offline and keeps the title, a toggle rolls back, the status turns offline', async () => {
  const { context, page, problems } = await h.watchedPage()
  await h.signUp(page, 'offline@example.com')
  await page.locator('[data-testid="connection-status"][data-status="connected"]').waitFor()
  await add(page, 'made before the outage')
  const box = row(page, 'made before the outage').getByRole('checkbox')
  await h.stop()
  try {
    await page.locator('[data-testid="connection-status"][data-status="reconnecting"]').waitFor({ timeout: 2000 })

    await page.getByPlaceholder('What needs doing?').fill('written while offline')
    await page.getByRole('button', { name: 'Add' }).click()
    await page.getByTestId('todo-problem').filter({ hasText: /^You are offline — the todo was not added/ }).waitFor()
    assert.equal(await page.getByPlaceholder('What needs doing?').inputValue(), 'written while offline')

    await box.click()
    await page.getByTestId('todo-problem').filter({ hasText: 'You are offline — the change was not saved.' }).waitFor()
    await eventually('the toggle rolled back', async () => (await box.isChecked()) === false)

    await page.locator('[data-testid="connection-status"][data-status="offline"]').waitFor({ timeout: 8000 })
    assert.equal(await page.getByTestId('connection-status').textContent(), 'Offline')
    mkdirSync(SCREENS, { recursive: true })
    await page.setViewportSize({ width: 360, height: 780 })
    await page.screenshot({ path: `${SCREENS}/todos-offline-phone.png` })
  } finally {
    await h.start()
  }
  // Back up ("Caught up" for a few seconds once the missed changes are in, then
  // "Connected"): the title is still there to send again.
  await page.locator(LIVE).waitFor({ timeout: 3000 })
  await page.getByRole('button', { name: 'Add' }).click()
  await row(page, 'written while offline').waitFor()
  assert.equal(await page.getByPlaceholder('What needs doing?').inputValue(), '')
  assert.deepEqual(unexpected(problems), [])
  await context.close()
})

test('follower tabs show "Connected" within 1 s of opening', async () => {
  const { context, page, problems } = await h.watchedPage()
  await h.signUp(page, 'followers@example.com')
  await page.locator('[data-testid="connection-status"][data-status="connected"]').waitFor()
  for (let i = 0; i < 3; i++) {
    const tab = await h.watch(await context.newPage(), problems)
    await tab.goto(h.base + '/todos')
    const opened = Date.now()
    await eventually('the follower to show Connected', async () => (await status(tab)) === 'connected', 1000)
    assert.ok(Date.now() - opened <= 1000)
    assert.equal(await tab.getByTestId('role-badge').getAttribute('data-role'), 'follower')
    assert.equal(await tab.getByTestId('connection-status').textContent(), 'Connected')
  }
  assert.deepEqual(problems, [])
  await context.close()
})

test('after a server restart every tab shows live updates again within 1 s of /up answering', async () => {
  const { a, b } = await twoUsers('restart')
  const follower = await h.watch(await a.context.newPage(), a.problems)
  await follower.goto(h.base + '/todos')
  const tabs = [a.page, follower, b.page]
  for (const tab of tabs) await tab.locator('[data-testid="connection-status"][data-status="connected"]').waitFor()

  await h.stop()
  for (const tab of tabs) await tab.locator('[data-testid="connection-status"][data-status="reconnecting"]').waitFor()
  await h.start()
  const up = await h.whenUp()
  // A change made by another client the moment the server is back.
  const token = (await b.context.cookies()).find((c) => c.name === 'XSRF-TOKEN')?.value
  const res = await b.context.request.post(h.base + '/todos', {
    headers: { 'X-XSRF-TOKEN': token, 'Content-Type': 'application/json' },
    data: { todo: { title: 'after the restart' } },
    maxRedirects: 0,
  })
  assert.ok(res.status() < 400, `POST /todos answered ${res.status()}`)
  const left = () => 1000 - (Date.now() - up)
  for (const tab of tabs) {
    await eventually('the tab to show the change', async () => (await row(tab, 'after the restart').count()) === 1, left())
    await eventually('the tab to show it is live', async () => ['connected', 'caught-up'].includes(await status(tab)), left())
  }
  const took = Date.now() - up
  assert.ok(took <= 1000, `live again ${took} ms after /up answered`)
  // And the next change is live too.
  await add(b.page, 'live again')
  for (const tab of tabs) await row(tab, 'live again').waitFor({ timeout: 2000 })
  assert.deepEqual(unexpected([...a.problems, ...b.problems]), [])
  await a.context.close()
  await b.context.close()
})

test('screenshots of the board at desktop and phone widths', async () => {
  mkdirSync(SCREENS, { recursive: true })
  const { context, page, problems } = await h.watchedPage({ viewport: { width: 1280, height: 900 } })
  await h.signUp(page, 'screens@example.com', 'Screen Shot')
  await add(page, 'Water the plants on the balcony before the weekend')
  await row(page, 'tick one 150').getByRole('checkbox').waitFor()
  await page.locator('[data-testid="connection-status"][data-status="connected"]').waitFor()
  await page.screenshot({ path: `${SCREENS}/todos-desktop.png`, fullPage: true })
  await page.setViewportSize({ width: 360, height: 780 })
  await page.screenshot({ path: `${SCREENS}/todos-phone.png`, fullPage: true })
  const width = await page.evaluate(() => document.documentElement.scrollWidth)
  assert.ok(width <= 360, `the board fits 360 px (scroll width ${width})`)
  // A second tab follows the leader's socket; a second user sees the same shared board.
  const follower = await h.watch(await context.newPage(), problems)
  await follower.goto(h.base + '/todos')
  await follower.locator('[data-testid="connection-status"][data-status="connected"]').waitFor()
  await row(follower, 'Water the plants on the balcony before the weekend').waitFor()
  await screens(follower, 'todos-follower-tab')
  const other = await h.watchedPage()
  await h.signUp(other.page, 'screens-other@example.com', 'Other User')
  await add(other.page, 'Only mine')
  await screens(other.page, 'todos-second-user')
  assert.deepEqual(other.problems, [])
  await other.context.close()
  assert.deepEqual(problems, [])
  await context.close()
})

test('a board longer than the window shows the newest 200 with the total, Show more loads more, and changes keep the counts', async () => {
  const { a, b } = await twoUsers('window')
  const xsrf = decodeURIComponent((await a.context.cookies()).find((c) => c.name === 'XSRF-TOKEN').value)
  for (let i = 0; i < 205; i++) {
    const res = await a.context.request.post(h.base + '/todos', {
      data: { todo: { title: `bulk ${i}` } },
      headers: { 'X-XSRF-TOKEN': xsrf },
      maxRedirects: 0,
    })
    assert.equal(res.status(), 302)
  }
  const total = async () => {
    const res = await a.context.request.get(h.base + '/todos')
    const json = (await res.text()).match(/<script data-page="app" type="application\/json">(.*?)<\/script>/s)[1]
    return JSON.parse(json).props.counts.total
  }
  const all = await total()
  assert.ok(all >= 205)
  // B got all of it live, as batches: the newest 200 shown, the whole board counted.
  await eventually('B to show the window and the total', async () => {
    const text = await b.page.getByText(/Showing the newest \d+ of \d+/).textContent().catch(() => '')
    return text.includes(`Showing the newest 200 of ${all}`) && (await b.page.getByTestId('stat-total').textContent()) === String(all)
  })
  assert.equal(await b.page.getByTestId('todo').count(), 200)
  assert.equal(await b.page.getByTestId('todo').first().locator('.todo-title').textContent(), 'bulk 204')
  await b.page.getByRole('button', { name: 'Show more' }).click()
  await eventually('B to show more', async () => (await b.page.getByTestId('todo').count()) === Math.min(all, 400))
  // A change still arrives and keeps the counts.
  await add(a.page, 'after the window')
  await row(b.page, 'after the window').waitFor()
  await eventually('B to count it', async () => (await b.page.getByTestId('stat-total').textContent()) === String(all + 1))
  assert.deepEqual(unexpected(a.problems), [])
  assert.deepEqual(unexpected(b.problems), [])
})
