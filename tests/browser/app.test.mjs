// Headless Chromium (Debian's, driven by playwright-core) against the release binary: the
// app loads, the unmodified Inertia client navigates between pages without a full reload,
// and the console shows no errors (CSP violations included).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
// playwright-core is a devDependency of the front end.
const require = createRequire(join(root, 'assets', 'package.json'))
const { chromium } = require('playwright-core')

const BIN = process.env.TRIFECTA_BIN ?? join(root, 'target', 'release', 'trifecta')
const CHROMIUM = process.env.CHROMIUM ?? execSync('command -v chromium', { shell: '/bin/sh' }).toString().trim()

let server
let storage
let base
let browser

function startServer() {
  storage = mkdtempSync(join(tmpdir(), 'trifecta-browser-'))
  server = spawn(BIN, ['--storage', storage, '--log', 'info', 'serve', '--bind', '127.0.0.1:0'], {
    env: { ...process.env, TRIFECTA_ENV: 'test' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  return new Promise((resolve, reject) => {
    let log = ''
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 30_000)
    server.stderr.setEncoding('utf8')
    server.stderr.on('data', (chunk) => {
      log += chunk
      const m = log.match(/listening addr=(\S+)/)
      if (m) {
        clearTimeout(timer)
        resolve(`http://${m[1]}`)
      }
    })
    server.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code}:\n${log}`))
    })
  })
}

before(async () => {
  base = await startServer()
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
})

after(async () => {
  await browser?.close()
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve))
    server.kill('SIGTERM')
    await exited
  }
  if (storage) rmSync(storage, { recursive: true, force: true })
})

/** A page that records console errors, page errors, CSP violations and failed requests. */
async function watchedPage(options = {}) {
  const context = await browser.newContext(options)
  const page = await context.newPage()
  const problems = []
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console ${msg.type()}: ${msg.text()}`)
  })
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`))
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`)
  })
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`)
    })
  })
  return { context, page, problems }
}

/** Signs up through the real form; the browser lands on Home, signed in. */
async function signUp(page, email) {
  await page.goto(base + '/signup')
  await page.getByLabel('Name').fill('Tester')
  await page.getByLabel('Email address').fill(email)
  await page.getByLabel(/^Password/).fill('correct horse battery')
  await page.getByRole('button', { name: 'Sign up' }).click()
  await page.waitForURL(base + '/todos')
  await page.getByTestId('current-user').waitFor()
}

test('anonymous visitors land on the sign-in page; a wrong password shows an error', async () => {
  const { context, page, problems } = await watchedPage()
  await page.goto(base + '/')
  await page.waitForURL(base + '/login')
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
  const first = await page.goto(base + '/about')
  assert.equal(first.status(), 200)
  assert.match(first.headers()['content-security-policy'], /script-src 'self'/)
  await page.getByRole('heading', { level: 1 }).filter({ hasText: 'One binary' }).waitFor()
  assert.equal(await page.title(), 'Home · trifecta')
  await page.evaluate(() => {
    window.__sameDocument = 'still here'
  })

  await page.getByRole('navigation').getByRole('link', { name: 'Status' }).click()
  await page.waitForURL(base + '/status')
  await page.getByRole('heading', { name: 'Server status' }).waitFor()
  assert.equal(await page.getByTestId('overall').textContent(), 'All systems operational')
  for (const store of ['app', 'queue', 'cache', 'cable']) {
    await page.locator('.stores li', { hasText: store }).getByText('ok').waitFor()
  }
  assert.equal(await page.evaluate(() => window.__sameDocument), 'still here', 'no full reload')
  assert.equal(await page.title(), 'Status · trifecta')

  // A partial reload from the page's own button.
  await page.getByRole('button', { name: 'Refresh' }).click()
  await page.waitForFunction(() => performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/status')).length >= 2)

  await page.goBack()
  await page.waitForURL(base + '/about')
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
  const res = await page.goto(base + '/status')
  assert.equal(res.status(), 200)
  await page.getByRole('heading', { name: 'Server status' }).waitFor()
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`)
  const navVisible = await page.getByRole('navigation').getByRole('link', { name: 'Todos' }).isVisible()
  assert.ok(navVisible)

  const missing = await page.goto(base + '/no/such/page')
  assert.equal(missing.status(), 404)
  await page.getByRole('heading', { name: 'This page does not exist.' }).waitFor()
  // The 404 itself is the only expected problem.
  assert.deepEqual(problems.filter((p) => !p.includes('/no/such/page') && !p.includes('404')), [])
  await context.close()
})
