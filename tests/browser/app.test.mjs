// Headless Chromium (Debian's, driven by playwright-core) against the release binary: the
// app loads, the unmodified Inertia client navigates between pages without a full reload,
// and the console shows no errors (CSP violations included).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { harness } from './support.mjs'

const h = harness()
const signUp = (page, email) => h.signUp(page, email)
const watchedPage = (options) => h.watchedPage(options)

test('anonymous visitors land on the sign-in page; a wrong password shows an error', async () => {
  const { context, page, problems } = await watchedPage()
  await page.goto(h.base + '/')
  await page.waitForURL(h.base + '/login')
  await page.getByRole('heading', { name: 'Sign in' }).waitFor()
  await page.getByLabel('Email address').fill('nobody@example.com')
  await page.getByLabel('Password').fill('wrong password!')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByText('Try another email address or password.').waitFor()
  assert.deepEqual(problems, [])
  await context.close()
})

test('navigates between Home and Status without a full reload, with no console errors', async () => {
  const { context, page, problems } = await watchedPage()
  const inertiaRequests = []
  page.on('request', (req) => {
    if (req.headers()['x-inertia'] === 'true') inertiaRequests.push(`${req.resourceType()} ${new URL(req.url()).pathname}`)
  })

  await signUp(page, 'first@example.com')
  const first = await page.goto(h.base + '/about')
  assert.equal(first.status(), 200)
  assert.match(first.headers()['content-security-policy'], /script-src 'self'/)
  await page.getByRole('heading', { level: 1 }).filter({ hasText: 'One binary' }).waitFor()
  // The title is set by <Head> after the page renders: wait for it, within a deadline.
  await page.waitForFunction((t) => document.title === t, 'Home · trifecta', { timeout: 5_000 }).catch(() => {})
  assert.equal(await page.title(), 'Home · trifecta')
  await page.evaluate(() => {
    window.__sameDocument = 'still here'
  })

  await page.getByRole('navigation').getByRole('link', { name: 'Status' }).click()
  await page.waitForURL(h.base + '/status')
  await page.getByRole('heading', { name: 'Server status' }).waitFor()
  assert.equal(await page.getByTestId('overall').textContent(), 'All systems operational')
  for (const store of ['app', 'queue', 'cache', 'cable']) {
    await page.locator('.stores li', { hasText: store }).getByText('ok').waitFor()
  }
  assert.equal(await page.evaluate(() => window.__sameDocument), 'still here', 'no full reload')
  await page.waitForFunction((t) => document.title === t, 'Status · trifecta', { timeout: 5_000 }).catch(() => {})
  assert.equal(await page.title(), 'Status · trifecta')

  // A partial reload from the page's own button.
  await page.getByRole('button', { name: 'Refresh' }).click()
  await page.waitForFunction(() => performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/status')).length >= 2)

  await page.goBack()
  await page.waitForURL(h.base + '/about')
  await page.getByRole('heading', { level: 1 }).filter({ hasText: 'One binary' }).waitFor()
  await page.getByRole('link', { name: 'Server status' }).click()
  await page.getByRole('heading', { name: 'Server status' }).waitFor()
  assert.equal(await page.evaluate(() => window.__sameDocument), 'still here', 'still no full reload')

  assert.ok(inertiaRequests.includes('xhr /status') || inertiaRequests.includes('fetch /status'), inertiaRequests.join(', '))
  assert.deepEqual(problems, [])
  await context.close()
})

test('an unknown page shows the styled 404 page; it fits a phone-sized screen', async () => {
  const { context, page, problems } = await watchedPage({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true })
  await signUp(page, 'phone@example.com')
  const res = await page.goto(h.base + '/status')
  assert.equal(res.status(), 200)
  await page.getByRole('heading', { name: 'Server status' }).waitFor()
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`)
  const navVisible = await page.getByRole('navigation').getByRole('link', { name: 'Todos' }).isVisible()
  assert.ok(navVisible)

  const missing = await page.goto(h.base + '/no/such/page')
  assert.equal(missing.status(), 404)
  await page.getByRole('heading', { name: 'This page does not exist.' }).waitFor()
  // The 404 itself is the only expected problem.
  assert.deepEqual(problems.filter((p) => !p.includes('/no/such/page') && !p.includes('404')), [])
  await context.close()
})

test('sign-up shows every invalid field at once, then a welcome notice that stays', async () => {
  const { context, page, problems } = await watchedPage()
  await page.goto(h.base + '/signup')
  await page.getByLabel('Email address').fill('not an email')
  await page.getByLabel(/^Password/).fill('short')
  await page.getByRole('button', { name: 'Sign up' }).click()
  await page.getByText('Email address is invalid').waitFor()
  await page.getByText('Password is too short (minimum is 8 characters)').waitFor()

  await page.getByLabel('Name').fill('Wendy')
  await page.getByLabel('Email address').fill('wendy@example.com')
  await page.getByLabel(/^Password/).fill('correct horse battery')
  await page.getByRole('button', { name: 'Sign up' }).click()
  await page.waitForURL(h.base + '/todos')
  // The board's first live update (the list from TodosChannel) must not wipe the notice.
  await page.getByTestId('event-log').getByText('todos: 0 todos received').waitFor()
  const welcome = page.getByRole('status').filter({ hasText: 'Welcome, Wendy!' })
  assert.ok(await welcome.isVisible(), 'the welcome notice is shown')
  await welcome.getByRole('button', { name: 'Dismiss' }).click()
  assert.equal(await welcome.count(), 0)
  assert.deepEqual(problems, [])
  await context.close()
})
