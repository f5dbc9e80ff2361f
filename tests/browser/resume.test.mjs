// A dropped connection in headless Chromium: the network between a member's browser and the
// server is cut (a TCP relay in between, so the WebSocket really closes while the server stays
// up), the owner renames the account twice meanwhile, and once the network is back the
// member's page shows the last name by itself: the socket resumed its session, the missed
// sync markers were replayed, the page did a partial reload (no navigation), and the status
// pill went from "Reconnecting…" to "Caught up". Screenshots of both states.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { harness, eventually, screens, relay, recordStatuses, frames } from './support.mjs'

const h = harness()

/** Problems other than the network failures a cut network causes on purpose. */
const unexpected = (problems) =>
  problems.filter((p) => !/request failed|Failed to load resource|ERR_CONNECTION|ERR_EMPTY_RESPONSE|WebSocket connection/.test(p))

const pill = (page, status) => page.locator(`[data-testid="connection-status"][data-status="${status}"]`)

async function rename(page, name) {
  await page.getByLabel('Name', { exact: true }).fill(name)
  await page.getByRole('button', { name: 'Rename' }).click()
  await page.getByTestId('account-name').filter({ hasText: name }).waitFor()
}

test('an account page whose socket drops while the account is renamed twice shows the last name after reconnect without a manual reload', async () => {
  const net = await relay(h.base)
  const ann = await h.watchedPage()
  await h.signUp(ann.page, 'ann@example.com', 'Ann')
  const bob = await h.watchedPage()
  await h.signUp(bob.page, 'bob@example.com', 'Bob', net.base)

  await ann.page.goto(h.base + '/accounts')
  await ann.page.getByLabel('New team account').fill('Blue team')
  await ann.page.getByRole('button', { name: 'Create' }).click()
  await ann.page.waitForURL(/\/accounts\/[A-Za-z0-9]+$/)
  const id = new URL(ann.page.url()).pathname.split('/').pop()
  await ann.page.getByLabel('Add member by email').fill('bob@example.com')
  await ann.page.getByRole('button', { name: 'Add', exact: true }).click()
  await ann.page.locator('[data-testid=member][data-email="bob@example.com"]').waitFor()

  const seen = frames(bob.page)
  await bob.page.goto(`${net.base}/accounts/${id}`)
  await bob.page.getByTestId('account-name').filter({ hasText: 'Blue team' }).waitFor()
  await pill(bob.page, 'connected').waitFor()
  await eventually('the subscription confirmed', () => seen.some((f) => f.type === 'confirm_subscription'))
  const statuses = await recordStatuses(bob.page)
  await bob.page.evaluate(() => {
    window.__sameDocument = 'still here'
  })

  net.cut()
  await pill(bob.page, 'reconnecting').waitFor()
  assert.equal(await bob.page.getByTestId('connection-status').textContent(), 'Reconnecting…')
  await screens(bob.page, 'account-reconnecting')
  await rename(ann.page, 'Blue team, renamed')
  await rename(ann.page, 'Blue team, renamed again')
  assert.equal(await bob.page.getByTestId('account-name').textContent(), 'Blue team', 'nothing arrives while cut')

  const welcomes = seen.filter((f) => f.type === 'welcome').length
  net.restore()
  await bob.page.getByTestId('account-name').filter({ hasText: 'Blue team, renamed again' }).waitFor()
  await pill(bob.page, 'caught-up').waitFor()
  assert.equal(await bob.page.getByTestId('connection-status').textContent(), 'Caught up')
  await screens(bob.page, 'account-caught-up')

  assert.equal(await bob.page.evaluate(() => window.__sameDocument), 'still here', 'no full page load')
  const resumed = seen.filter((f) => f.type === 'welcome').slice(welcomes)
  assert.equal(resumed[0]?.restored, true, `the session was restored: ${JSON.stringify(resumed)}`)
  // The markers came as a replay (history), not as a fresh subscription's full state.
  assert.ok(seen.slice(seen.indexOf(resumed[0])).some((f) => f.type === 'confirm_history'), 'history confirmed')
  const after = await statuses()
  const down = after.indexOf('reconnecting')
  assert.ok(down >= 0 && after.indexOf('caught-up', down) > down, `statuses: ${after.join(' → ')}`)
  // "Caught up" gives way to "Connected" by itself.
  await pill(bob.page, 'connected').waitFor({ timeout: 10_000 })

  assert.deepEqual(ann.problems, [])
  assert.deepEqual(unexpected(bob.problems), [])
  for (const s of [ann, bob]) await s.context.close()
  await net.close()
})
