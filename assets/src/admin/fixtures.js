// Example props of the dashboard pages (the contract's shapes), for the unit tests and the
// screenshot harness (`npm run fixtures`): full and empty variants, a failed job with a long
// backtrace, 20 queues with one paused, capped counts, a stale process. Not part of the app.

const MINUTE = 60_000
const iso = (ms) => new Date(ms).toISOString()

const count = (n, more = false) => ({ n, more })

// 60 zero-filled minutes ending at `now`, with `fill(i)` (0 = oldest) giving the values.
function minutes(now, fill) {
  const start = Math.floor(now / MINUTE) * MINUTE - 59 * MINUTE
  return Array.from({ length: 60 }, (_, i) => ({ at: iso(start + i * MINUTE), ...fill(i) }))
}

const wave = (i, base, amp, period = 17) => Math.max(0, Math.round(base + amp * Math.sin(i / (period / 6.28))))

export function jobsChart(now, empty = false) {
  return {
    minutes: minutes(now, (i) => {
      if (empty) return { enqueued: 0, finished: 0, failed: 0, delay_avg_ms: null, delay_max_ms: null }
      const finished = i < 8 ? 0 : wave(i, 60, 35)
      const failed = i < 8 ? 0 : i % 9 === 0 ? 12 : wave(i, 1, 2, 11)
      const done = finished + failed
      return {
        enqueued: done + 3,
        finished,
        failed,
        delay_avg_ms: done ? 80 + wave(i, 120, 90, 23) : null,
        delay_max_ms: done ? 400 + wave(i, 900, 700, 13) + (i === 44 ? 6000 : 0) : null,
      }
    }),
  }
}

const QUEUE_NAMES = [
  'default', 'mailers', 'reports', 'webhooks', 'billing', 'exports', 'imports', 'search_index',
  'notifications', 'thumbnails', 'low', 'critical', 'analytics', 'cleanup', 'sync_crm',
  'payments', 'video_transcoding_long_running', 'audit', 'digest', 'backups',
]

export function counts(scale = 1) {
  return {
    ready: count(1234 * scale),
    scheduled: count(87 * scale),
    in_progress: count(12 * scale),
    blocked: count(3 * scale),
    failed: count(120 * scale),
    finished: scale ? count(10000, true) : count(0),
  }
}

const ZERO = counts(0)

export function overview(now, { empty = false } = {}) {
  return {
    counts: empty ? ZERO : counts(1),
    queues: empty
      ? []
      : QUEUE_NAMES.map((name, i) => ({
          name,
          ready: i === 0 ? 1042 : (i * 37) % 90,
          scheduled: (i * 13) % 20,
          in_progress: i < 4 ? 3 : i % 3,
          latency_ms: i === 0 ? 94_000 : i % 4 === 3 ? null : (i * 1370) % 20_000,
          paused: name === 'exports' || name === 'low',
        })),
    chart: jobsChart(now, empty),
    processes: empty ? 0 : 4,
  }
}

const ERRORS = [
  { exception_class: 'Net::ReadTimeout', message: 'Net::ReadTimeout with #<TCPSocket:(closed)> after waiting 30 seconds for https://hooks.example.com/very/long/path/that/keeps/going' },
  { exception_class: 'ActiveRecord::RecordNotFound', message: "Couldn't find Account with 'id'=4312" },
  { exception_class: 'RuntimeError', message: 'boom' },
]

export function jobsList(now, { state = 'failed', empty = false, filter = {}, scanLimited = false, cursor = null } = {}) {
  const classes = ['ReportJob', 'WebhookDeliveryJob', 'Mailers::DigestJob', 'ThumbnailJob']
  const jobs = empty
    ? []
    : Array.from({ length: scanLimited ? 3 : 25 }, (_, i) => ({
        id: 98_765 - i * 7,
        class_name: classes[i % classes.length],
        queue_name: filter.queue ?? QUEUE_NAMES[i % 5],
        priority: 0,
        executions: state === 'failed' ? 1 + (i % 4) : 0,
        state,
        at: iso(state === 'scheduled' ? now + (i + 1) * 97_000 : now - (i * 173_000 + 12_000)),
        arguments:
          i % 3 === 0
            ? '[{"account_id":4312,"report":"monthly","recipients":["ann@example.com","bo@example.com"],"options":{"format":"pdf","locale":"en"}}]'.slice(0, 200)
            : `[${i * 11}]`,
        error: state === 'failed' ? ERRORS[i % ERRORS.length] : null,
      }))
  return {
    state,
    counts: empty ? ZERO : counts(1),
    filter: { queue: null, class: null, from: null, to: null, ...filter },
    queue_names: QUEUE_NAMES,
    class_names: classes,
    jobs,
    next_cursor: empty && !scanLimited ? null : 'eyJpZCI6OTg2NTB9',
    scan_limited: scanLimited,
    scanned_to: scanLimited ? iso(now - 3 * 86_400_000) : null,
    url: `/admin/jobs/${state}${cursor ? `?cursor=${cursor}` : ''}`,
  }
}

const backtrace = (n) =>
  Array.from({ length: n }, (_, i) =>
    i % 5 === 0
      ? `/app/crates/jobs/src/webhook.rs:${120 + i}:in \`deliver_with_a_rather_long_function_name_that_wraps_on_phones\``
      : `/usr/local/lib/rust/std/src/rt.rs:${i * 3 + 10}:in \`frame_${i}\``,
  )

export function jobShow(now, { state = 'failed' } = {}) {
  const failed = state === 'failed'
  return {
    job: {
      id: 98_765,
      class_name: 'WebhookDeliveryJob',
      queue_name: 'webhooks',
      priority: 10,
      state,
      executions: failed ? 3 : 0,
      arguments: JSON.stringify({ url: 'https://hooks.example.com/deliver', payload: { event: 'invoice.paid', id: 'in_1Q2w3E4r5T6y' }, attempt: 3 }, null, 2),
      created_at: iso(now - 3_600_000),
      scheduled_at: state === 'scheduled' ? iso(now + 600_000) : null,
      claimed_at: failed ? iso(now - 65_000) : null,
      failed_at: failed ? iso(now - 60_000) : null,
      finished_at: null,
      request_id: failed ? 'req_01HZX8Y5K3N2M4P6Q8R0' : null,
      concurrency_key: failed ? 'webhooks/account-4312' : null,
      process: failed ? { id: 41, kind: 'worker', name: 'worker-7f3a', hostname: 'app-2.internal', pid: 31337, alive: false } : null,
      attempts: failed
        ? [1, 2, 3].map((number) => ({
            number,
            at: iso(now - (4 - number) * 20_000 - 60_000),
            exception_class: number === 3 ? ERRORS[0].exception_class : ERRORS[2].exception_class,
            message: number === 3 ? ERRORS[0].message : ERRORS[2].message,
            backtrace: backtrace(number === 3 ? 80 : 4),
            process_id: 41,
          }))
        : [],
    },
    actions: { retry: failed, discard: failed || state === 'scheduled', run_now: state === 'scheduled' },
  }
}

export function processes(now, { empty = false } = {}) {
  if (empty) return { processes: [] }
  const p = (id, kind, name, stale, running = []) => ({
    id,
    kind,
    name,
    hostname: id % 2 ? 'app-1.internal' : 'app-2.internal',
    pid: 4000 + id,
    heartbeat_age_ms: stale ? 412_000 : 8_000 + id * 1000,
    started_at: iso(now - 86_400_000 * (id % 3) - 3_600_000),
    stale,
    running,
  })
  return {
    processes: [
      p(1, 'worker', 'worker-1a2b', false, [
        { id: 98_770, class_name: 'ReportJob', queue_name: 'reports', claimed_at: iso(now - 42_000) },
        { id: 98_771, class_name: 'ThumbnailJob', queue_name: 'thumbnails', claimed_at: iso(now - 3_000) },
      ]),
      p(2, 'worker', 'worker-9c8d', false),
      p(3, 'dispatcher', 'dispatcher-77aa', false),
      p(4, 'worker', 'worker-dead-beef', true, [
        { id: 98_600, class_name: 'WebhookDeliveryJob', queue_name: 'webhooks', claimed_at: iso(now - 700_000) },
      ]),
    ],
  }
}

export function recurring(now, { empty = false } = {}) {
  if (empty) return { tasks: [] }
  return {
    tasks: [
      { key: 'nightly_report', schedule: '0 3 * * *', class_name: 'ReportJob', queue_name: 'reports', priority: 0, arguments: '{"kind":"daily"}', description: 'The daily numbers mailed to the team', last_run_at: iso(now - 18 * 3_600_000), last_job_id: 97_001, next_run_at: iso(now + 6 * 3_600_000) },
      { key: 'cleanup_sessions', schedule: 'every 30 seconds', class_name: 'CleanupJob', queue_name: null, priority: 5, arguments: null, description: null, last_run_at: iso(now - 12_000), last_job_id: 98_790, next_run_at: iso(now + 18_000) },
      { key: 'backup', schedule: '0 */6 * * *', class_name: 'BackupJob', queue_name: 'backups', priority: 0, arguments: null, description: null, last_run_at: null, last_job_id: null, next_run_at: iso(now + 2 * 3_600_000) },
    ],
  }
}

export function cache(now, { empty = false } = {}) {
  return {
    cache: empty
      ? { entries: 0, bytes: 0, max_size: null, max_entries: null, max_age_ms: null, hits: 0, misses: 0, hit_ratio: null, evictions: 0, servers: [] }
      : {
          entries: 48_213,
          bytes: 231_400_000,
          max_size: 268_435_456,
          max_entries: null,
          max_age_ms: 14 * 86_400_000,
          hits: 1_934_220,
          misses: 121_873,
          hit_ratio: 1_934_220 / (1_934_220 + 121_873),
          evictions: 5_412,
          servers: [
            { pid: 4001, hits: 1_200_000, misses: 80_000, started_at: iso(now - 2 * 86_400_000), updated_at: iso(now - 4_000) },
            { pid: 4002, hits: 734_220, misses: 41_873, started_at: iso(now - 3 * 3_600_000), updated_at: iso(now - 9_000) },
          ],
        },
    chart: {
      minutes: minutes(now, (i) =>
        empty ? { hits: 0, misses: 0, writes: 0 } : { hits: wave(i, 420, 160), misses: wave(i, 40, 25, 9), writes: wave(i, 35, 20, 13) },
      ),
    },
  }
}

export function cable(now, { empty = false } = {}) {
  return {
    cable: empty
      ? { sockets: 0, subscriptions: [], broadcasts_per_second: 0, listener_lag_ms: null, trimmed: 0, messages: 0, streams: 0, payload_bytes: 0, oldest_at: null, slow_disconnects: 0, rejected_connections: 0 }
      : {
          sockets: 1_284,
          subscriptions: [
            { channel: 'SyncChannel', count: 2_310 },
            { channel: 'TodosChannel', count: 640 },
            { channel: 'PresenceChannel', count: 1_102 },
          ],
          broadcasts_per_second: 3.4,
          listener_lag_ms: 1_800,
          trimmed: 120_443,
          messages: 18_220,
          streams: 412,
          payload_bytes: 7_340_000,
          oldest_at: iso(now - 86_000_000),
          slow_disconnects: 2,
          rejected_connections: 0,
        },
    chart: {
      minutes: minutes(now, (i) =>
        empty
          ? { broadcasts: 0, delivered: 0, lag_max_ms: null }
          : { broadcasts: wave(i, 200, 80), delivered: wave(i, 2400, 900), lag_max_ms: wave(i, 40, 30, 7) + (i === 50 ? 1800 : 0) },
      ),
    },
  }
}

// Every variant the harness renders: { name, component, props, url }.
export function allFixtures(now) {
  const list = (name, options) => {
    const { url, ...props } = jobsList(now, options)
    return { name, component: 'Admin/Jobs/List', props, url }
  }
  return [
    { name: 'overview', component: 'Admin/Jobs/Overview', props: overview(now), url: '/admin/jobs' },
    { name: 'overview-empty', component: 'Admin/Jobs/Overview', props: overview(now, { empty: true }), url: '/admin/jobs' },
    list('list-failed', { state: 'failed' }),
    list('list-failed-filtered', { state: 'failed', filter: { queue: 'webhooks', from: iso(now - 86_400_000) }, cursor: 'abc' }),
    list('list-scan-limited', { state: 'finished', filter: { class: 'ReportJob' }, scanLimited: true }),
    list('list-scheduled', { state: 'scheduled' }),
    list('list-empty', { state: 'failed', empty: true }),
    list('list-filtered-empty', { state: 'ready', empty: true, filter: { queue: 'mailers' } }),
    { name: 'show-failed', component: 'Admin/Jobs/Show', props: jobShow(now), url: '/admin/jobs/98765' },
    { name: 'show-scheduled', component: 'Admin/Jobs/Show', props: jobShow(now, { state: 'scheduled' }), url: '/admin/jobs/98765' },
    { name: 'processes', component: 'Admin/Jobs/Processes', props: processes(now), url: '/admin/jobs/processes' },
    { name: 'processes-empty', component: 'Admin/Jobs/Processes', props: processes(now, { empty: true }), url: '/admin/jobs/processes' },
    { name: 'recurring', component: 'Admin/Jobs/Recurring', props: recurring(now), url: '/admin/jobs/recurring' },
    { name: 'recurring-empty', component: 'Admin/Jobs/Recurring', props: recurring(now, { empty: true }), url: '/admin/jobs/recurring' },
    { name: 'cache', component: 'Admin/Cache', props: cache(now), url: '/admin/cache' },
    { name: 'cache-empty', component: 'Admin/Cache', props: cache(now, { empty: true }), url: '/admin/cache' },
    { name: 'cable', component: 'Admin/Cable', props: cable(now), url: '/admin/cable' },
    { name: 'cable-empty', component: 'Admin/Cable', props: cable(now, { empty: true }), url: '/admin/cable' },
  ]
}
