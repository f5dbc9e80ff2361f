// The frame around every page: header with navigation, the page, a footer.
import { Link, usePage } from '@inertiajs/react'

const NAV = [
  { href: '/', label: 'Home', component: 'Home' },
  { href: '/status', label: 'Status', component: 'Status' },
]

export default function Layout({ children }) {
  const { component, flash } = usePage()
  const message = flash && typeof flash.notice === 'string' ? flash.notice : null
  return (
    <div className="shell">
      <header className="topbar">
        <Link href="/" className="brand">
          <span className="brand-mark" aria-hidden="true">▲</span> trifecta
        </Link>
        <nav className="nav" aria-label="Main">
          {NAV.map((item) => (
            <Link
              key={item.href}
              href={item.href}
              className={component === item.component ? 'nav-link active' : 'nav-link'}
              aria-current={component === item.component ? 'page' : undefined}
            >
              {item.label}
            </Link>
          ))}
        </nav>
      </header>
      {message && (
        <div className="flash" role="status">
          {message}
        </div>
      )}
      <main className="content">{children}</main>
      <footer className="footer">One binary · SQLite · ActionCable · Inertia</footer>
    </div>
  )
}
