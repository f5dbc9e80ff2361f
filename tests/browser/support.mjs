// Shared by the browser tests: the release binary on port 0 with temp storage, Debian's
// Chromium driven by playwright-core (never a downloaded browser), pages that record
// console errors and CSP violations, sign-up through the real form, and a server that can be
// stopped and started again on the same storage and port.
import { before, after } from 'node:test'
import { spawn, execSync, execFileSync } from 'node:child_process'
import { createServer, connect } from 'node:net'
import { createRequire } from 'node:module'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
// playwright-core is a devDependency of the front end.
const require = createRequire(join(root, 'assets', 'package.json'))
const { chromium } = require('playwright-core')

const BIN = process.env.TRIFECTA_BIN ?? join(root, 'target', 'release', 'trifecta')
const CHROMIUM = process.env.CHROMIUM ?? execSync('command -v chromium', { shell: '/bin/sh' }).toString().trim()

// With TRIFECTA_BROWSER_POSTGRES (a server's base URL, as `make test-browser-postgres` sets
// it), every server keeps its stores on PostgreSQL: a database of its own per storage dir.
const POSTGRES = process.env.TRIFECTA_BROWSER_POSTGRES
const databases = new Map()
let created = 0

/** The environment that puts `storage`'s stores on PostgreSQL (the same on a restart). */
function databaseEnv(storage) {
  if (!POSTGRES) return {}
  if (!databases.has(storage)) {
    const name = `browser_${process.pid}_${created++}`
    execSync(`psql -X -q -d "${POSTGRES}/postgres" -c "CREATE DATABASE ${name}"`)
    databases.set(storage, `${POSTGRES}/${name}`)
  }
  return { DATABASE_URL: databases.get(storage) }
}

/** Starts `trifecta serve` on `bind` (with `env` added); resolves with the child and its base URL. */
function startServer(storage, bind = '127.0.0.1:0', env = {}) {
  const server = spawn(BIN, ['--storage', storage, '--log', 'info', 'serve', '--bind', bind], {
    env: { ...process.env, TRIFECTA_ENV: 'test', TRIFECTA_BCRYPT_COST: '4', ...databaseEnv(storage), ...env },
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
        // On PostgreSQL no store may fall back to a file in the storage dir.
        if (POSTGRES && existsSync(join(storage, 'test.sqlite3'))) {
          reject(new Error(`the server made ${join(storage, 'test.sqlite3')} instead of using PostgreSQL`))
        }
        resolve({ server, base: `http://${m[1]}` })
      }
    })
    server.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code}:\n${log}`))
    })
  })
}

/** Sends SIGTERM to `server` and resolves once it has exited. */
async function stopServer(server) {
  if (!server || server.exitCode !== null || server.signalCode !== null) return
  const exited = new Promise((resolve) => server.once('exit', resolve))
  server.kill('SIGTERM')
  await exited
}

/**
 * Registers before/after hooks that start one server (its environment plus `env`, e.g.
 * `{TRIFECTA_CABLE_HISTORY_LIMIT: '1'}`) and one browser for the test file; returns
 * `{ base, browser, watchedPage, signUp }` (`base` and `browser` are set once the before
 * hook ran).
 */
export function harness({ env = {} } = {}) {
  const h = { base: null, browser: null, server: null, storage: null }
  before(async () => {
    h.storage = mkdtempSync(join(tmpdir(), 'trifecta-browser-'))
    const started = await startServer(h.storage, undefined, env)
    h.server = started.server
    h.base = started.base
    h.browser = await chromium.launch({
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
    // A test that failed half-way leaves its relays open; they would keep the file running.
    await Promise.all([...relays].map((r) => r.close()))
    await h.browser?.close()
    await stopServer(h.server)
    if (h.storage) rmSync(h.storage, { recursive: true, force: true })
  })

  /** Stops the server (SIGTERM) and waits until it has exited. */
  h.stop = () => stopServer(h.server)

  /**
   * Starts the server again on the same storage and the same address (`base` is unchanged),
   * retrying while the port is still held; resolves once it listens.
   */
  h.start = async () => {
    const bind = new URL(h.base).host
    await eventually('the old address to be free', async () => {
      try {
        h.server = (await startServer(h.storage, bind, env)).server
        return true
      } catch (err) {
        if (!/in use/i.test(String(err.message))) throw err
        return false
      }
    })
  }

  /**
   * Runs `trifecta ARGS` on the server's storage (e.g. `['jobs', 'enqueue', ...]`), with
   * `input` on its standard input; its stdout.
   */
  h.cli = (args, input = '') =>
    execFileSync(BIN, ['--storage', h.storage, ...args], {
      env: { ...process.env, TRIFECTA_ENV: 'test', ...databaseEnv(h.storage), ...env },
      encoding: 'utf8',
      input,
    })

  /** Resolves when `GET /up` answers 200 (checked every 10 ms); the time it did, in ms. */
  h.whenUp = (ms = 10_000) =>
    eventually(
      'the server to answer /up',
      async () => {
        const ok = await fetch(h.base + '/up').then((r) => r.ok, () => false)
        return ok && Date.now()
      },
      ms,
      10,
    )

  /** Records console errors, page errors, CSP violations and failed requests of `page`. */
  h.watch = async (page, problems) => {
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console ${msg.type()}: ${msg.text()}`)
    })
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    page.on('requestfailed', (req) => {
      // A socket or request cut short by closing its tab is not a failure of the app, nor an
      // Inertia request the client itself aborted (a live reload superseded by a visit, or
      // cut by the test navigating away while it was in flight).
      const error = req.failure()?.errorText
      if (page.isClosed() || (error === 'net::ERR_ABORTED' && req.headers()['x-inertia'])) return
      problems.push(`request failed: ${req.url()} ${error}`)
    })
    page.on('response', (res) => {
      if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`)
    })
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`)
      })
    })
    return page
  }

  /** A new context with one watched page. */
  h.watchedPage = async (options = {}) => {
    const context = await h.browser.newContext(options)
    const problems = []
    const page = await h.watch(await context.newPage(), problems)
    return { context, page, problems }
  }

  /**
   * Signs up through the real form (at `base`, e.g. a relay's); the browser lands on the todo
   * board, signed in.
   */
  h.signUp = async (page, email, name = 'Tester', base = h.base) => {
    await page.goto(base + '/signup')
    await page.getByLabel('Name').fill(name)
    await page.getByLabel('Email address').fill(email)
    await page.getByLabel(/^Password/).fill('correct horse battery')
    await page.getByRole('button', { name: 'Sign up' }).click()
    await page.waitForURL(base + '/todos')
    await page.getByTestId('current-user').waitFor()
  }
  return h
}

/** Where screenshots go (`SCREENS_DIR`, else the reviewers' folder). */
export const SCREENS = process.env.SCREENS_DIR ?? '/work/screens'

/**
 * Saves full-page screenshots of `page` as `<name>-1280.png` and `<name>-360.png`, fails
 * unless the page fits 360 px without sideways scrolling, and restores the viewport.
 */
export async function screens(page, name) {
  mkdirSync(SCREENS, { recursive: true })
  const before = page.viewportSize()
  await page.setViewportSize({ width: 1280, height: 900 })
  await page.screenshot({ path: `${SCREENS}/${name}-1280.png`, fullPage: true })
  await page.setViewportSize({ width: 360, height: 780 })
  await page.screenshot({ path: `${SCREENS}/${name}-360.png`, fullPage: true })
  const width = await page.evaluate(() => document.documentElement.scrollWidth)
  if (width > 360) throw new Error(`${name} is ${width} px wide at a 360 px viewport`)
  if (before) await page.setViewportSize(before)
}

/**
 * Polls `fn` every `every` ms until it returns a truthy value or `ms` pass; `label` (or what
 * it returns, when a function: the state at the time out) names what was awaited.
 */
export async function eventually(label, fn, ms = 10_000, every = 50) {
  const start = Date.now()
  let last
  for (;;) {
    last = await fn()
    if (last) return last
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${typeof label === 'function' ? label() : label} (last: ${JSON.stringify(last)})`)
    await new Promise((r) => setTimeout(r, every))
  }
}

/** The relays not closed yet (the harness closes them after the file's tests). */
const relays = new Set()

/**
 * A TCP relay in front of the server at `base`, for a browser whose network drops while the
 * server stays up: resolves with `{ base, cut(), restore(), close() }`. `cut()` destroys every
 * connection through it (the page's WebSocket closes as on a real drop, without a close
 * frame from the server) and resets new ones until `restore()`.
 */
export async function relay(base) {
  const target = new URL(base)
  const sockets = new Set()
  let down = false
  const server = createServer((client) => {
    if (down) return client.resetAndDestroy()
    const upstream = connect(Number(target.port), target.hostname)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {})
    }
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const handle = {
    base: `http://127.0.0.1:${server.address().port}`,
    cut() {
      down = true
      for (const s of sockets) s.resetAndDestroy()
    },
    restore() {
      down = false
    },
    close() {
      down = true
      relays.delete(handle)
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(resolve))
    },
  }
  relays.add(handle)
  return handle
}

/**
 * Records every `data-status` the page's connection pill shows, in order (consecutive
 * repeats folded), in `window.__statuses`; survives partial reloads, not a full navigation.
 */
export async function recordStatuses(page) {
  await page.evaluate(() => {
    const seen = []
    window.__statuses = seen
    const look = () => {
      const now = document.querySelector('[data-testid="connection-status"]')?.getAttribute('data-status')
      if (now && seen[seen.length - 1] !== now) seen.push(now)
    }
    look()
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] })
  })
  return () => page.evaluate(() => window.__statuses.slice())
}

/** The frames (other than pings) a page's sockets receive, parsed, in order. */
export function frames(page) {
  const seen = []
  page.on('websocket', (ws) => {
    ws.on('framereceived', ({ payload }) => {
      const frame = JSON.parse(typeof payload === 'string' ? payload : payload.toString())
      if (frame.type !== 'ping') seen.push(frame)
    })
  })
  return seen
}
