// The dashboard pages without the server: renders each fixture of src/admin/fixtures.js
// inside the real Layout to static HTML (react-dom/server, through Vite so JSX and the page
// modules load as in the app; Inertia and the cable are replaced by fixture-mocks/), with the
// built CSS, then screenshots it with the machine's Chromium at 1280 and 360 px into
// $SCREENS (default /work/screens/dash-fixture-<name>-<width>.png). Reports any page wider
// than its window. Run `npm run build` first.
//
//   npm run fixtures [-- name ...]      (names: see allFixtures; default all)
import { execSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createElement } from 'react'
import { chromium } from 'playwright-core'
import { createServer } from 'vite'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const out = process.env.SCREENS ?? '/work/screens'
const widths = [1280, 360]
const only = process.argv.slice(2)

const manifest = JSON.parse(readFileSync(join(root, 'dist/.vite/manifest.json'), 'utf8'))
const css = manifest['src/main.jsx'].css.map((file) => pathToFileURL(join(root, 'dist', file)).href)

const vite = await createServer({
  root,
  configFile: join(root, 'vite.config.js'),
  logLevel: 'error',
  server: { middlewareMode: true, hmr: false, ws: false },
  appType: 'custom',
  resolve: {
    alias: [
      { find: /^@inertiajs\/react$/, replacement: join(root, 'scripts/fixture-mocks/inertia.jsx') },
      { find: /^(\.\.\/)+realtime\/react\.jsx$/, replacement: join(root, 'scripts/fixture-mocks/realtime.jsx') },
    ],
  },
})

const load = (path) => vite.ssrLoadModule(join(root, path))
const { renderToStaticMarkup } = await import('react-dom/server')
const { default: Layout } = await load('src/Layout.jsx')
const { ConfirmPanel } = await load('src/components/Confirm.jsx')
const { allFixtures } = await load('src/admin/fixtures.js')

const now = Date.now()
const fixtures = allFixtures(now)
// Two more views of the overview: the cable down with a confirmation open.
const overview = fixtures.find((f) => f.name === 'overview')
fixtures.push({
  ...overview,
  name: 'overview-offline-confirm',
  status: 'reconnecting',
  confirm: {
    question: 'Pause queue “default”?',
    detail: 'Workers stop taking its 1,042 ready jobs (and any that arrive) until it is resumed; running jobs finish.',
    confirmLabel: 'Pause',
    danger: true,
  },
  flash: { notice: 'Queue “mailers” resumed.' },
})
const list = fixtures.find((f) => f.name === 'list-failed')
fixtures.push({
  ...list,
  name: 'list-failed-confirm',
  confirm: { question: 'Retry 120 jobs matching queue=webhooks?', detail: 'They go back to their queues as ready.', confirmLabel: 'Retry 120 jobs' },
})

// The existing admin page, to see it with the admin bar.
const owner = { name: 'Ann Admin', email_address: 'ann@example.com' }
fixtures.push({
  name: 'admin-accounts',
  component: 'Admin/Accounts',
  url: '/admin/accounts',
  props: {
    accounts: [
      { id: 1, name: 'Ann Admin', account_type: 'personal', owner, members_count: 1, created_at: new Date(now - 86_400_000).toISOString() },
      { id: 2, name: 'Operations', account_type: 'team', owner, members_count: 4, created_at: new Date(now).toISOString() },
    ],
    selected_account: null,
  },
})

const user = { id: 1, name: 'Ann Admin', email_address: 'ann@example.com', site_admin: true }
const dir = mkdtempSync(join(tmpdir(), 'dash-fixtures-'))
mkdirSync(out, { recursive: true })

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? execSync('command -v chromium', { shell: '/bin/sh' }).toString().trim(),
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
})
const problems = []
try {
  for (const fixture of fixtures) {
    if (only.length && !only.includes(fixture.name)) continue
    const { default: Page } = await load(`src/pages/${fixture.component}.jsx`)
    const page = { component: fixture.component, url: fixture.url, flash: fixture.flash ?? {}, props: { ...fixture.props, auth: { user } } }
    globalThis.__fixture = { page, status: fixture.status }
    const children = [createElement(Page, { key: 'page', ...page.props })]
    if (fixture.confirm) children.push(createElement(ConfirmPanel, { key: 'confirm', request: fixture.confirm, sending: false, onConfirm() {}, onCancel() {} }))
    const body = renderToStaticMarkup(createElement(Layout, null, children))
    const file = join(dir, `${fixture.name}.html`)
    writeFileSync(
      file,
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
        css.map((href) => `<link rel="stylesheet" href="${href}">`).join('') +
        `<title>${fixture.name}</title></head><body><div id="app">${body}</div></body></html>`,
    )
    for (const width of widths) {
      const context = await browser.newContext({ viewport: { width, height: 900 }, isMobile: width < 600, hasTouch: width < 600 })
      const tab = await context.newPage()
      await tab.goto(pathToFileURL(file).href)
      const scrollWidth = await tab.evaluate(() => document.documentElement.scrollWidth)
      if (scrollWidth > width) {
        // The outermost elements that stick out, to say what to fix.
        const culprits = await tab.evaluate((w) => {
          const out = [...document.querySelectorAll('body *')].filter(
            (el) => el.getBoundingClientRect().right > w + 1 && el.parentElement.getBoundingClientRect().right <= w + 1,
          )
          return out.slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} (${Math.round(el.getBoundingClientRect().right)})`)
        }, width)
        problems.push(`${fixture.name} at ${width} px is ${scrollWidth} px wide: ${culprits.join(', ')}`)
      }
      const shot = join(out, `dash-fixture-${fixture.name}-${width}.png`)
      await tab.screenshot({ path: shot, fullPage: true })
      console.log(shot)
      await context.close()
    }
  }
} finally {
  await browser.close()
  await vite.close()
}
if (problems.length) {
  console.error(problems.join('\n'))
  process.exitCode = 1
}
