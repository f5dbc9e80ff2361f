// Sync markers in real browsers: an admin watching /admin/accounts and a member watching
// /accounts/:id both see a rename made by the owner, without reloading the page; the member,
// once removed, leaves the account's page and receives none of its markers any more.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { harness, eventually } from './support.mjs'

const h = harness()

/** Records the SyncChannel frames a page's sockets receive whose identifier mentions `id`:
 * marker messages in order, and how many subscriptions were confirmed. */
function recordMarkers(page, id) {
  const frames = []
  frames.confirmed = 0
  page.on('websocket', (ws) => {
    ws.on('framereceived', ({ payload }) => {
      const text = typeof payload === 'string' ? payload : payload.toString()
      if (!text.includes('SyncChannel') || !text.includes(id)) return
      const frame = JSON.parse(text)
      if (frame.type === 'confirm_subscription') frames.confirmed += 1
      if (frame.message) frames.push(frame.message)
    })
  })
  return frames
}

async function rename(page, name) {
  await page.getByLabel('Name', { exact: true }).fill(name)
  await page.getByRole('button', { name: 'Rename' }).click()
  await page.getByTestId('account-name').filter({ hasText: name }).waitFor()
}

test('a rename reaches the admin and the member live; a removed member stops receiving markers', async () => {
  const admin = await h.watchedPage()
  await h.signUp(admin.page, 'admin@example.com', 'Admin') // first user: site admin
  const owner = await h.watchedPage()
  await h.signUp(owner.page, 'owner@example.com', 'Owner')
  const member = await h.watchedPage()
  await h.signUp(member.page, 'member@example.com', 'Member')

  // The owner creates a team account and adds the member through the forms.
  await owner.page.getByRole('navigation').getByRole('link', { name: 'Accounts' }).click()
  await owner.page.getByLabel('New team account').fill('Blue team')
  await owner.page.getByRole('button', { name: 'Create' }).click()
  await owner.page.waitForURL(/\/accounts\/[A-Za-z0-9]+$/)
  const accountId = new URL(owner.page.url()).pathname.split('/').pop()
  await owner.page.getByLabel('Add member by email').fill('member@example.com')
  await owner.page.getByRole('button', { name: 'Add', exact: true }).click()
  await owner.page.getByTestId('member').filter({ hasText: 'Member' }).waitFor()

  // The admin watches all accounts with this one selected; the member watches its page.
  assert.ok(await admin.page.getByRole('navigation').getByRole('link', { name: 'Admin' }).isVisible())
  const adminFrames = recordMarkers(admin.page, 'all')
  await admin.page.goto(`${h.base}/admin/accounts?account_id=${accountId}`)
  await admin.page.getByTestId('account-detail').getByTestId('account-name').filter({ hasText: 'Blue team' }).waitFor()
  const memberFrames = recordMarkers(member.page, accountId)
  await member.page.goto(`${h.base}/accounts/${accountId}`)
  await member.page.getByTestId('account-name').filter({ hasText: 'Blue team' }).waitFor()
  assert.equal(await member.page.getByRole('button', { name: 'Rename' }).count(), 0, 'members cannot rename')
  for (const p of [admin.page, member.page]) {
    await p.evaluate(() => {
      window.__sameDocument = 'still here'
    })
  }
  // Subscriptions are confirmed before the change, so its markers cannot be missed.
  await eventually('the admin\'s subscriptions', () => adminFrames.confirmed >= 1)
  await eventually('the member\'s subscription', () => memberFrames.confirmed >= 1)

  await rename(owner.page, 'Green team')
  await admin.page.getByTestId('account-row').filter({ hasText: 'Green team' }).waitFor()
  await admin.page.getByTestId('account-detail').getByTestId('account-name').filter({ hasText: 'Green team' }).waitFor()
  await member.page.getByTestId('account-name').filter({ hasText: 'Green team' }).waitFor()
  for (const p of [admin.page, member.page]) {
    assert.equal(await p.evaluate(() => window.__sameDocument), 'still here', 'no full reload')
  }
  assert.ok(memberFrames.some((m) => m.action === 'refresh' && m.prop === 'account'), JSON.stringify(memberFrames))
  assert.ok(adminFrames.some((m) => m.action === 'refresh' && m.prop === 'accounts'), JSON.stringify(adminFrames))

  // The owner removes the member: the member's page notices and goes back to their list.
  owner.page.once('dialog', (dialog) => dialog.accept())
  await owner.page.getByTestId('member').filter({ hasText: 'Member' }).getByRole('button', { name: 'Remove' }).click()
  await member.page.waitForURL(`${h.base}/accounts`)
  assert.equal(await member.page.getByTestId('account-row').filter({ hasText: 'Green team' }).count(), 0)
  const seenBefore = memberFrames.length

  // Later changes reach the admin but not the removed member.
  await rename(owner.page, 'Red team')
  await admin.page.getByTestId('account-detail').getByTestId('account-name').filter({ hasText: 'Red team' }).waitFor()
  assert.equal(memberFrames.length, seenBefore, `no markers after removal: ${JSON.stringify(memberFrames.slice(seenBefore))}`)
  assert.equal(await member.page.getByText('Red team').count(), 0)

  assert.deepEqual(admin.problems, [])
  assert.deepEqual(owner.problems, [])
  // The member's one refused reload (404) is the expected way they learn of the removal.
  assert.ok(member.problems.includes(`HTTP 404: ${h.base}/accounts/${accountId}`), member.problems.join('\n'))
  assert.deepEqual(member.problems.filter((p) => !p.includes('404')), [])
  for (const s of [admin, owner, member]) await s.context.close()
})
