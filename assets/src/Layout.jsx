// The frame around every page: header with navigation and the signed-in user, the page, a
// footer. Signed-out visitors only see the sign-in and sign-up links.
import { Link, router, usePage } from '@inertiajs/react'

const NAV = [
  { href: '/todos', label: 'Todos', component: 'Todos/Index' },
  { href: '/accounts', label: 'Accounts', component: 'Accounts/Index' },
  { href: '/status', label: 'Status', component: 'Status' },
  { href: '/about', label: 'About', component: 'Home' },
]

const ADMIN_NAV = [{ href: '/admin/accounts', label: 'Admin', component: 'Admin/Accounts' }]

export default function Layout({ children }) {
  const page = usePage()
  const { component, flash } = page
  const user = page.props.auth?.user ?? null
  const notice = flash && typeof flash.notice === 'string' ? flash.notice : null
  const alert = flash && typeof flash.alert === 'string' ? flash.alert : null
  return (
    <div className="shell">
      <header className="topbar">
        <Link href="/" className="brand">
          <span className="brand-mark" aria-hidden="true">▲</span> trifecta
        </Link>
        {user ? (
          <>
            <nav className="nav" aria-label="Main">
              {[...NAV, ...(user.site_admin ? ADMIN_NAV : [])].map((item) => (
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
            <div className="user-menu">
              <span data-testid="current-user">{user.name || user.email_address}</span>
              <button type="button" className="link-button" onClick={() => router.delete('/session')}>
                Sign out
              </button>
            </div>
          </>
        ) : (
          <nav className="nav" aria-label="Account">
            <Link href="/login" className={component === 'Auth/Login' ? 'nav-link active' : 'nav-link'}>
              Sign in
            </Link>
          </nav>
        )}
      </header>
      {notice && (
        <div className="flash" role="status">
          {notice}
        </div>
      )}
      {alert && (
        <div className="flash alert" role="alert">
          {alert}
        </div>
      )}
      <main className="content">{children}</main>
      <footer className="footer">One binary · SQLite · ActionCable · Inertia</footer>
    </div>
  )
}
