// The operations dashboard in headless Chromium, as a site admin uses it: the failed-jobs
// list is open when a job fails in the background (enqueued by the CLI on the same
// storage) and the job appears without a reload; the admin fixes the cause, retries it from
// the page through the in-page confirmation, and sees it finish. Then every dashboard page
// with data in it, at desktop and 360 px: the overview with its charts, the job page with
// its attempts, processes, recurring tasks (from a schedule file), cache and cable.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { harness, eventually, screens } from './support.mjs'

const scratch = mkdtempSync(join(tmpdir(), 'trifecta-dashboard-'))
const schedule = join(scratch, 'recurring.toml')
writeFileSync(
  schedule,
  `[nightly_cleanup]
job = "noop"
schedule = "0 3 * * *"
description = "Clears out what nobody needs"

[heartbeat]
job = "noop"
schedule = "every 30 seconds"
queue = "ops"
`,
)
const h = harness({ env: { TRIFECTA_RECURRING_SCHEDULE: schedule } })

/** The admin's page and problems; the first user to sign up is the site admin. */
let admin
async function signedInAdmin() {
  if (admin) return admin
  admin = await h.watchedPage()
  await h.signUp(admin.page, 'root@example.com', 'Root')
  return admin
}

const enqueue = (args, queue = 'mail') =>
  h.cli(['jobs', 'enqueue', 'fail', '--args', JSON.stringify(args), '--queue', queue]).trim().split(' ').pop()

test('a job failing in the background appears without a reload; retried from the page, it finishes', async () => {
  const { page, problems } = await signedInAdmin()
  const cause = join(scratch, 'smtp-down')
  writeFileSync(cause, '')
  await page.goto(h.base + '/admin/jobs/failed')
  await page.locator('[data-testid=live-indicator][data-live=true]').waitFor()
  assert.equal(await page.getByTestId('job-row').count(), 0)
  await screens(page, 'dashboard-failed-empty')
  // Set on this document only: a full reload would lose it.
  await page.evaluate(() => {
    window.sameDocument = true
  })

  const id = enqueue({ message: 'SMTP server not answering', while_exists: cause })
  const row = page.locator(`[data-testid=job-row][data-job-id="${id}"]`)
  await row.waitFor({ timeout: 15_000 })
  assert.match(await row.textContent(), /BuiltinFailure/)
  assert.match(await row.textContent(), /SMTP server not answering/)
  assert.equal(await page.evaluate(() => window.sameDocument), true, 'the list updated without a reload')
  await screens(page, 'dashboard-failed')

  // The cause is fixed; the admin retries the job from the page.
  rmSync(cause)
  await row.getByRole('button', { name: 'Retry' }).click()
  await page.getByTestId('confirm-button').click()
  await row.waitFor({ state: 'detached', timeout: 15_000 })
  await page.getByTestId('state-tab-finished').click()
  await page.locator(`[data-testid=job-row][data-job-id="${id}"]`).waitFor({ timeout: 15_000 })
  assert.equal(await page.evaluate(() => window.sameDocument), true, 'no reload at any point')
  await page.goto(`${h.base}/admin/jobs/${id}`)
  await eventually('the job page says finished', async () => /finished/i.test(await page.getByTestId('job-state').textContent()))
  await screens(page, 'dashboard-job')
  assert.deepEqual(problems, [])
})

test('every dashboard page, with data, at desktop and phone widths', async () => {
  const { page, problems } = await signedInAdmin()
  for (let i = 0; i < 3; i++) enqueue({ message: `webhook ${i} timed out`, password: 'hunter2' }, 'webhooks')
  h.cli(['jobs', 'pause', 'reports'])
  h.cli(['jobs', 'enqueue', 'noop', '--queue', 'reports'])
  h.cli(['jobs', 'enqueue', 'noop', '--queue', 'reports', '--in', '2h'])

  await page.goto(h.base + '/admin/jobs')
  await eventually('three failed', async () => /3/.test(await page.getByTestId('count-failed').textContent()))
  await page.locator('[data-testid=queue-row][data-queue=reports]').waitFor()
  await screens(page, 'dashboard-overview')

  await page.goto(h.base + '/admin/jobs/failed?queue=webhooks')
  await eventually('three rows', async () => (await page.getByTestId('job-row').count()) === 3)
  assert.doesNotMatch(await page.content(), /hunter2/, 'sensitive values are filtered')
  const first = await page.getByTestId('job-row').first().getAttribute('data-job-id')
  await page.goto(`${h.base}/admin/jobs/${first}`)
  assert.doesNotMatch(await page.content(), /hunter2/)
  await screens(page, 'dashboard-job-failed')

  await page.goto(h.base + '/admin/jobs/scheduled')
  await page.getByTestId('job-row').first().waitFor()
  await screens(page, 'dashboard-scheduled')

  await page.goto(h.base + '/admin/jobs/processes')
  await page.getByTestId('process-row').first().waitFor()
  assert.match(await page.getByTestId('process-roles').first().textContent(), /dispatcher · scheduler: 2 recurring tasks/)
  await screens(page, 'dashboard-processes')

  await page.goto(h.base + '/admin/jobs/recurring')
  await eventually('both tasks', async () => (await page.getByTestId('task-row').count()) === 2)
  await screens(page, 'dashboard-recurring')

  await page.goto(h.base + '/admin/cache')
  await page.getByTestId('live-indicator').waitFor()
  await screens(page, 'dashboard-cache')

  await page.goto(h.base + '/admin/cable')
  await page.getByTestId('live-indicator').waitFor()
  await screens(page, 'dashboard-cable')
  assert.deepEqual(problems, [])
})

test('two admins, three tabs: a failure and a retry reach every tab without a reload', async () => {
  const { page: first, context, problems } = await signedInAdmin()
  h.cli(['users', 'create', 'second@example.com', '--name', 'Second', '--admin'], 'correct horse battery\n')
  const second = await h.watchedPage()
  await second.page.goto(h.base + '/login')
  await second.page.getByLabel('Email address').fill('second@example.com')
  await second.page.getByLabel(/^Password/).fill('correct horse battery')
  await second.page.getByRole('button', { name: 'Sign in' }).click()
  await second.page.waitForURL(h.base + '/todos')
  const overview = await h.watch(await context.newPage(), problems)
  await first.goto(h.base + '/admin/jobs/failed?queue=billing')
  await overview.goto(h.base + '/admin/jobs')
  await second.page.goto(h.base + '/admin/jobs/failed?queue=billing')
  for (const p of [first, overview, second.page]) {
    await p.locator('[data-testid=live-indicator][data-live=true]').waitFor()
    await p.evaluate(() => {
      window.sameDocument = true
    })
  }
  const before = Number((await overview.getByTestId('count-failed').textContent()).replace(/\D/g, ''))

  const cause = join(scratch, 'billing-down')
  writeFileSync(cause, '')
  const id = enqueue({ message: 'card processor down', while_exists: cause }, 'billing')
  for (const p of [first, second.page]) {
    await p.locator(`[data-testid=job-row][data-job-id="${id}"]`).waitFor({ timeout: 15_000 })
  }
  await eventually('the overview counts it', async () =>
    Number((await overview.getByTestId('count-failed').textContent()).replace(/\D/g, '')) === before + 1,
  )
  await screens(second.page, 'dashboard-two-admins')
  await screens(overview, 'dashboard-overview-second-tab')

  // The second admin retries it; the first admin's list and the overview follow.
  rmSync(cause)
  const row = second.page.locator(`[data-testid=job-row][data-job-id="${id}"]`)
  await row.getByRole('button', { name: 'Retry' }).click()
  await second.page.getByTestId('confirm-button').click()
  await first.locator(`[data-testid=job-row][data-job-id="${id}"]`).waitFor({ state: 'detached', timeout: 15_000 })
  await eventually('the overview drops it', async () =>
    Number((await overview.getByTestId('count-failed').textContent()).replace(/\D/g, '')) === before,
  )
  for (const p of [first, overview, second.page]) {
    assert.equal(await p.evaluate(() => window.sameDocument), true, 'no reload in any tab')
  }
  await overview.close()
  assert.deepEqual(problems, [])
  assert.deepEqual(second.problems, [])
  await second.context.close()
})

test('a member is shown the not-found page', async () => {
  await signedInAdmin()
  const member = await h.watchedPage()
  await h.signUp(member.page, 'member@example.com', 'Member')
  const res = await member.page.goto(h.base + '/admin/jobs')
  assert.equal(res.status(), 404)
  await member.context.close()
  rmSync(scratch, { recursive: true, force: true })
})
