// Unit tests (vitest) of the dashboard pages: each fixture (src/admin/fixtures.js) rendered
// inside the real Layout to HTML, with Inertia and the cable replaced by stand-ins.
import { renderToStaticMarkup } from 'react-dom/server'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { allFixtures } from './fixtures.js'

const fake = vi.hoisted(() => ({ page: null, status: 'connected', markers: [] }))

vi.mock('@inertiajs/react', () => ({
  // eslint-disable-next-line no-unused-vars
  Link: ({ href, children, preserveScroll, only, method, data, ...rest }) => (
    <a href={href} {...rest}>
      {children}
    </a>
  ),
  Head: () => null,
  usePage: () => fake.page,
  router: { on: () => () => {}, post: () => {}, get: () => {}, reload: () => {}, delete: () => {} },
}))

vi.mock('../realtime/react.jsx', () => ({
  useSyncMarkers: (model, id, props, options) => fake.markers.push({ model, id, props, options }),
  useConnectionStatus: () => fake.status,
}))

const pages = import.meta.glob('../pages/Admin/**/*.jsx', { eager: true })
const { default: Layout } = await import('../Layout.jsx')
const { LiveBadge } = await import('../components/LiveIndicator.jsx')
const { ConfirmPanel } = await import('../components/Confirm.jsx')
const { default: Chart } = await import('../components/Chart.jsx')

const NOW = Date.parse('2026-12-07T20:31:05Z')
const fixtures = Object.fromEntries(allFixtures(NOW).map((f) => [f.name, f]))
const user = { id: 1, name: 'Ann', email_address: 'ann@example.com', site_admin: true }

function render(name, patch = {}) {
  const f = { ...fixtures[name], ...patch }
  const Page = pages[`../pages/${f.component}.jsx`].default
  fake.page = { component: f.component, url: f.url, flash: {}, props: { ...f.props, auth: { user } } }
  return renderToStaticMarkup(
    <Layout>
      <Page {...fake.page.props} />
    </Layout>,
  )
}

const count = (html, needle) => html.split(needle).length - 1
const hrefs = (html) => [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1].replaceAll('&amp;', '&'))

beforeEach(() => {
  fake.markers = []
  fake.status = 'connected'
})

describe('every dashboard page', () => {
  it.each(Object.keys(fixtures))('%s renders with the admin bar and the live indicator', (name) => {
    const html = render(name)
    expect(html).toContain('data-testid="admin-nav"')
    expect(html).toMatch(/class="subnav-link active"[^>]*>(Jobs|Cache|Cable)</)
    expect(html).toContain('data-testid="live-indicator"')
    expect(fake.markers.length).toBeGreaterThan(0)
    expect(fake.markers[0].model).toBe('Admin')
  })
})

describe('Admin/Jobs/Overview', () => {
  it('shows the counts, a capped one with a plus, each linking to its list', () => {
    const html = render('overview')
    expect(html).toMatch(/data-testid="count-finished"[^>]*>10,000\+</)
    expect(html).toMatch(/data-testid="count-ready"[^>]*>1,234</)
    expect(hrefs(html)).toContain('/admin/jobs/failed')
    for (const state of ['ready', 'scheduled', 'in_progress', 'blocked', 'failed', 'finished'])
      expect(html).toContain(`data-testid="state-tab-${state}"`)
  })
  it('lists every queue, paused ones with a badge and Resume', () => {
    const html = render('overview')
    expect(count(html, 'data-testid="queue-row"')).toBe(20)
    expect(count(html, 'data-testid="paused-badge"')).toBe(2)
    expect(html).toMatch(/data-queue="exports" data-paused="true"/)
    expect(count(html, '>Resume</button>')).toBe(2)
    expect(count(html, '>Pause</button>')).toBe(18)
    expect(html).toContain('1 min') // the default queue's 94 s latency
  })
  it('draws the three charts and subscribes to the jobs markers', () => {
    const html = render('overview')
    for (const name of ['throughput', 'latency', 'failure-rate']) expect(html).toContain(`data-testid="chart-${name}"`)
    expect(html).not.toContain('No data in the last hour')
    expect(fake.markers[0]).toMatchObject({ model: 'Admin', id: 'jobs', props: ['counts', 'queues', 'chart', 'processes'] })
  })
  it('says when there is nothing yet', () => {
    const html = render('overview-empty')
    expect(count(html, 'No data in the last hour')).toBe(3)
    expect(html).toContain('data-testid="queues-empty"')
  })
})

describe('Admin/Jobs/List', () => {
  it('lists the jobs with links, errors, arguments and per-row actions', () => {
    const html = render('list-failed')
    expect(count(html, 'data-testid="job-row"')).toBe(25)
    expect(html).toContain('data-job-id="98765"')
    expect(hrefs(html)).toContain('/admin/jobs/98765')
    expect(html).toContain('Net::ReadTimeout')
    expect(count(html, 'data-action="retry"')).toBe(25)
    expect(count(html, 'data-action="discard"')).toBe(25)
    expect(html).toContain('data-action="retry_all"')
    expect(html).toContain('data-action="discard_all"')
    expect(html).toContain('Older →')
    expect(hrefs(html)).toContain('/admin/jobs/failed?cursor=eyJpZCI6OTg2NTB9')
  })
  it('keeps the filter in the state tabs and the next page, and offers a way back', () => {
    const html = render('list-failed-filtered')
    const links = hrefs(html)
    expect(links.find((h) => h.startsWith('/admin/jobs/ready?'))).toMatch(/queue=webhooks&from=/)
    expect(links.some((h) => /^\/admin\/jobs\/failed\?queue=webhooks&from=[^&]+&cursor=/.test(h))).toBe(true)
    expect(html).toContain('data-testid="back-to-start"')
    expect(html).toContain('Back to newest')
    expect(html).toContain('data-testid="clear-filters"')
    expect(html).toMatch(/<option value="webhooks" selected="">webhooks<\/option>/)
  })
  it('offers run now on scheduled jobs, discard as the only bulk action, and "Next"', () => {
    const html = render('list-scheduled')
    expect(count(html, 'data-action="run"')).toBe(25)
    expect(html).not.toContain('data-action="retry_all"')
    expect(html).toContain('data-action="discard_all"')
    expect(html).toContain('Next →')
    expect(html).toMatch(/>Runs</)
  })
  it('says how far a limited scan got, with a link to search further', () => {
    const html = render('list-scan-limited')
    expect(html).toContain('data-testid="scan-limited"')
    expect(html).toContain('Searched up to')
    expect(html).toMatch(/data-testid="search-further"/)
    expect(html).not.toContain('data-testid="next-page"')
  })
  it('has kind empty states, with and without a filter', () => {
    expect(render('list-empty')).toContain('No failed jobs.')
    const filtered = render('list-filtered-empty')
    expect(filtered).toContain('No jobs match these filters')
    expect(filtered).toContain('Clear filters')
  })
})

describe('Admin/Jobs/Show', () => {
  it('shows the job, its gone process and each attempt with its backtrace', () => {
    const html = render('show-failed')
    expect(html).toContain('data-testid="job-facts"')
    expect(html).toContain('data-alive="false"')
    expect(html).toContain('>Gone<')
    expect(count(html, 'data-testid="attempt"')).toBe(3)
    expect(html).toContain('<details open="">')
    expect(html).toContain('80 lines')
    expect(html).toMatch(/<pre class="code" data-testid="job-arguments">\{/)
    expect(html).toContain('data-action="retry"')
    expect(html).toContain('data-action="discard"')
    expect(html).not.toContain('data-action="run"')
    expect(fake.markers[0]).toMatchObject({ id: 'jobs', props: ['job', 'actions'], options: { gone: '/admin/jobs' } })
  })
  it('offers run now for a scheduled job', () => {
    const html = render('show-scheduled')
    expect(html).toContain('data-action="run"')
    expect(html).toContain('No failed attempts.')
  })
})

describe('Admin/Jobs/Processes and Recurring', () => {
  it('marks the stale process and links the jobs running', () => {
    const html = render('processes')
    expect(count(html, 'data-testid="process-row"')).toBe(4)
    expect(count(html, 'data-stale="true"')).toBe(1)
    expect(hrefs(html)).toContain('/admin/jobs/98770')
    expect(render('processes-empty')).toContain('data-testid="processes-empty"')
  })
  it('lists the tasks with their last job and run now, and explains the schedule file when empty', () => {
    const html = render('recurring')
    expect(count(html, 'data-testid="task-row"')).toBe(3)
    expect(hrefs(html)).toContain('/admin/jobs/97001')
    expect(count(html, 'data-action="run"')).toBe(3)
    expect(render('recurring-empty')).toContain('--recurring-schedule FILE')
  })
})

describe('Admin/Cache and Admin/Cable', () => {
  it('shows the cache against its limits', () => {
    const html = render('cache')
    expect(html).toContain('<meter')
    expect(html).toContain('268 MB')
    expect(html).toContain('94.1%')
    expect(count(html, 'data-testid="cache-server-row"')).toBe(2)
    expect(html).toContain('data-testid="chart-cache"')
    expect(fake.markers[0]).toMatchObject({ id: 'cache', props: ['cache', 'chart'] })
    const empty = render('cache-empty')
    expect(empty).not.toContain('<meter')
    expect(empty).toContain('no limit')
  })
  it('lists subscriptions by channel, busiest first', () => {
    const html = render('cable')
    const channels = [...html.matchAll(/data-channel="([^"]+)"/g)].map((m) => m[1])
    expect(channels).toEqual(['SyncChannel', 'PresenceChannel', 'TodosChannel'])
    expect(html).toContain('data-testid="chart-broadcasts"')
    expect(fake.markers[0]).toMatchObject({ id: 'cable', props: ['cable', 'chart'] })
    expect(render('cable-empty')).toContain('data-testid="subscriptions-empty"')
  })
})

describe('shared pieces', () => {
  it('the live indicator says whether the figures are live', () => {
    const live = renderToStaticMarkup(<LiveBadge status="connected" busy={false} />)
    expect(live).toContain('data-live="true"')
    expect(live).toContain('Live')
    expect(renderToStaticMarkup(<LiveBadge status="caught-up" />)).toContain('data-live="true"')
    const off = renderToStaticMarkup(<LiveBadge status="reconnecting" />)
    expect(off).toContain('data-live="false"')
    expect(off).toContain('Not live — reconnecting…')
    expect(off).toContain('may be stale')
    expect(renderToStaticMarkup(<LiveBadge status="connected" busy />)).toContain('data-busy="true"')
  })
  it('the page shows its indicator as not live while the cable is down', () => {
    fake.status = 'offline'
    expect(render('cache')).toContain('data-live="false"')
  })
  it('the confirmation names the action and has a Confirm button', () => {
    const html = renderToStaticMarkup(
      <ConfirmPanel request={{ question: 'Retry 120 jobs matching queue=default?', confirmLabel: 'Retry 120 jobs' }} sending={false} onConfirm={() => {}} onCancel={() => {}} />,
    )
    expect(html).toContain('role="alertdialog"')
    expect(html).toMatch(/data-testid="confirm-button"[^>]*>Retry 120 jobs</)
    const sending = renderToStaticMarkup(<ConfirmPanel request={{ question: 'x' }} sending onConfirm={() => {}} onCancel={() => {}} />)
    expect(sending).toMatch(/data-testid="confirm-button" disabled="">Working…</)
    expect(renderToStaticMarkup(<ConfirmPanel request={null} />)).toBe('')
  })
  it('a chart sums up its data for screen readers and marks each minute', () => {
    const minutes = [
      { at: '2026-12-07T20:29:00Z', n: 2 },
      { at: '2026-12-07T20:30:00Z', n: 5 },
    ]
    const html = renderToStaticMarkup(
      <Chart name="t" title="Things" minutes={minutes} total integer series={[{ key: 'n', label: 'Done', values: minutes.map((m) => m.n), tone: 'ok' }]} />,
    )
    expect(html).toContain('role="img"')
    expect(html).toContain('aria-label="Things, last 2 minutes: Done 7 in all, at most 5 a minute."')
    expect(count(html, '<title>')).toBe(2)
    expect(html).toContain('data-testid="chart-t"')
    const empty = renderToStaticMarkup(<Chart name="t" title="Things" minutes={minutes} series={[{ key: 'n', label: 'Done', values: [0, 0], tone: 'ok' }]} />)
    expect(empty).toContain('No data in the last hour')
    expect(empty).toContain('data-empty="true"')
  })
})

describe('the Layout', () => {
  it('marks Admin in the main navigation on every admin page and keeps the bar off other pages', () => {
    const html = render('cable')
    expect(html).toMatch(/href="\/admin\/accounts" class="nav-link active" aria-current="page">Admin</)
    fake.page = { component: 'Todos/Index', url: '/todos', flash: {}, props: { auth: { user } } }
    const other = renderToStaticMarkup(
      <Layout>
        <p>todos</p>
      </Layout>,
    )
    expect(other).not.toContain('data-testid="admin-nav"')
  })
})
