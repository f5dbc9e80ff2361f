// The admin area's navigation: a bar under the header on every admin page (Accounts · Jobs ·
// Cache · Cable), and the jobs section's own links (Overview · Processes · Recurring).
import { Link } from '@inertiajs/react'

const SECTIONS = [
  { href: '/admin/accounts', label: 'Accounts', prefix: 'Admin/Accounts' },
  { href: '/admin/jobs', label: 'Jobs', prefix: 'Admin/Jobs/' },
  { href: '/admin/cache', label: 'Cache', prefix: 'Admin/Cache' },
  { href: '/admin/cable', label: 'Cable', prefix: 'Admin/Cable' },
]

export const isAdminPage = (component) => typeof component === 'string' && component.startsWith('Admin/')

export default function AdminNav({ component }) {
  return (
    <nav className="subnav" aria-label="Admin sections" data-testid="admin-nav">
      <div className="subnav-inner">
        {SECTIONS.map((s) => {
          const active = component.startsWith(s.prefix)
          return (
            <Link
              key={s.href}
              href={s.href}
              className={active ? 'subnav-link active' : 'subnav-link'}
              aria-current={active ? 'page' : undefined}
            >
              {s.label}
            </Link>
          )
        })}
      </div>
    </nav>
  )
}

const JOBS = [
  { href: '/admin/jobs', label: 'Overview', component: 'Admin/Jobs/Overview' },
  { href: '/admin/jobs/processes', label: 'Processes', component: 'Admin/Jobs/Processes' },
  { href: '/admin/jobs/recurring', label: 'Recurring', component: 'Admin/Jobs/Recurring' },
]

// `processes`: how many are registered, shown beside the link when known.
export function JobsNav({ component, processes }) {
  return (
    <div className="jobs-nav" data-testid="jobs-nav">
      {JOBS.map((item) => {
        const active = component === item.component
        return (
          <Link
            key={item.href}
            href={item.href}
            className={active ? 'pill active' : 'pill'}
            aria-current={active ? 'page' : undefined}
          >
            {item.label}
            {item.label === 'Processes' && processes != null && <span className="pill-count">{processes}</span>}
          </Link>
        )
      })}
    </div>
  )
}
