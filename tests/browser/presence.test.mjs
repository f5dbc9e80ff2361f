// Presence in headless Chromium: two users on one account page see each other ("Here now",
// live, each marked as themselves), and one closing the tab disappears from the other's page
// within the presence TTL (2 s here); the todo board shows who is looking at it too, two
// tabs of one user counted once, and closing the tab that holds the socket does not make
// its user leave while another of their tabs stays. Screenshots of both pages at desktop and 360 px.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { harness, eventually, screens } from './support.mjs'

const TTL_MS = 2000
const h = harness({ env: { TRIFECTA_CABLE_PRESENCE_TTL: `${TTL_MS}ms` } })

let users = 0
async function person(name) {
  users += 1
  const s = await h.watchedPage()
  s.email = `${name.toLowerCase()}${users}@example.com`
  await h.signUp(s.page, s.email, name)
  return s
}

/** The names a page lists as here now, sorted. */
const present = async (page) => (await page.getByTestId('present').allTextContents()).sort()

test('two users on one account page see each other; one closing the tab disappears within the TTL', async () => {
  const root = await person('Root') // the first user is the site admin; keep the others ordinary
  await root.context.close()
  const ann = await person('Ann')
  const bob = await person('Bob')
  await ann.page.goto(h.base + '/accounts')
  await ann.page.getByLabel('New team account').fill('Blue team')
  await ann.page.getByRole('button', { name: 'Create' }).click()
  await ann.page.waitForURL(/\/accounts\/[A-Za-z0-9]+$/)
  const id = new URL(ann.page.url()).pathname.split('/').pop()
  await ann.page.getByLabel('Add member by email').fill(bob.email)
  await ann.page.getByRole('button', { name: 'Add', exact: true }).click()
  await ann.page.locator(`[data-testid=member][data-email="${bob.email}"]`).waitFor()

  await bob.page.goto(`${h.base}/accounts/${id}`)
  await eventually('Ann sees Bob', async () => (await present(ann.page)).join('|') === 'Ann (you)|Bob')
  await eventually('Bob sees Ann', async () => (await present(bob.page)).join('|') === 'Ann|Bob (you)')
  await screens(ann.page, 'account-presence')

  await bob.context.close()
  const closed = Date.now()
  await eventually('Bob gone from Ann’s page', async () => (await present(ann.page)).join('|') === 'Ann (you)', TTL_MS + 3000)
  const after = Date.now() - closed
  // Within the TTL; the deadline above allows the machine a little more.
  assert.ok(after < TTL_MS + 3000, `Bob left after ${after} ms`)
  assert.deepEqual(ann.problems, [])
  await ann.context.close()
})

test('the todo board shows who is looking at it; two tabs of one user count once', async () => {
  const cy = await person('Cy')
  const di = await person('Di')
  const ed = await person('Ed')
  const second = await cy.context.newPage()
  await h.watch(second, cy.problems)
  await second.goto(h.base + '/todos')
  await eventually('all three on Di’s board', async () => (await present(di.page)).join('|') === 'Cy|Di (you)|Ed')
  await eventually('Cy’s tabs list Cy once', async () => (await present(second)).join('|') === 'Cy (you)|Di|Ed')
  await screens(di.page, 'todos-presence')

  // Cy closes the tab holding the socket (the other takes over with a socket of its own) and
  // Ed leaves at the same time. Once Ed is gone from Di's board, Cy's closed socket has
  // expired too: Cy, still here in the other tab, must not have left.
  assert.equal(await cy.page.getByTestId('role-badge').getAttribute('data-role'), 'leader')
  await cy.page.close()
  await ed.context.close()
  await eventually('Ed gone from Di’s board', async () => (await present(di.page)).join('|') === 'Cy|Di (you)', TTL_MS + 3000)
  assert.deepEqual(await present(second), ['Cy (you)', 'Di'])
  assert.deepEqual(cy.problems, [])
  assert.deepEqual(di.problems, [])
  for (const s of [cy, di]) await s.context.close()
})
