// Shared set-up of the browser tests: a `trifecta serve` child on port 0 with its own storage,
// headless Debian Chromium through playwright-core, pages that record problems, and sign-up
// through the real form.
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

/** Starts a server and a browser; `stop()` ends both and removes the storage. */
export async function start() {
  const storage = mkdtempSync(join(tmpdir(), 'trifecta-browser-'))
  const server = spawn(BIN, ['--storage', storage, '--log', 'info', 'serve', '--bind', '127.0.0.1:0'], {
    env: { ...process.env, TRIFECTA_ENV: 'test' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const base = await new Promise((resolve, reject) => {
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
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  })

  /** A page in its own context (own cookies, own cross-tab cable) that records problems. */
  async function watchedPage(options = {}) {
    const context = await browser.newContext(options)
    const page = await context.newPage()
    const problems = []
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console ${msg.type()}: ${msg.text()}`)
    })
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
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
  async function signUp(page, email, name = 'Tester') {
    await page.goto(base + '/signup')
    await page.getByLabel('Name').fill(name)
    await page.getByLabel('Email address').fill(email)
    await page.getByLabel(/^Password/).fill('correct horse battery')
    await page.getByRole('button', { name: 'Sign up' }).click()
    await page.waitForURL(base + '/')
    await page.getByTestId('current-user').waitFor()
  }

  async function stop() {
    await browser.close()
    if (server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve))
      server.kill('SIGTERM')
      await exited
    }
    rmSync(storage, { recursive: true, force: true })
  }

  return { base, browser, watchedPage, signUp, stop }
}
