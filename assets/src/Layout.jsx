// The frame around every page: header with navigation and the signed-in user, the page, a
// footer. Signed-out visitors only see the sign-in and sign-up links.
//
// Flash messages stay until the user moves to another address, sends a form, a new one
// arrives, or they dismiss it: a live update of the page (a partial reload after a sync marker, a prop
// replaced from the cable) answers with no flash, and would otherwise wipe a notice a
// fraction of a second after it appeared.
import { Link, router, usePage } from '@inertiajs/react'
import { useEffect, useState } from 'react'
import AdminNav, { isAdminPage } from './components/AdminNav.jsx'

const NAV = [
  { href: '/todos', label: 'Todos', component: 'Todos/Index' },
  { href: '/accounts', label: 'Accounts', component: 'Accounts/Index' },
  { href: '/status', label: 'Status', component: 'Status' },
  { href: '/about', label: 'About', component: 'Home' },
]

// "Admin" stands for the whole admin area (accounts, jobs, cache, cable), whose pages share
// a second bar of their own.
const ADMIN_NAV = [{ href: '/admin/accounts', label: 'Admin', section: 'Admin/' }]

const isCurrent = (item, component) =>
  item.section ? typeof component === 'string' && component.startsWith(item.section) : component === item.component

const text = (flash, key) => (flash && typeof flash[key] === 'string' ? flash[key] : null)
const path = (url) => (url ?? '').split('?')[0]

// The flash to show: the page's, or the last one shown at this address.
function useStickyFlash(page) {
  const notice = text(page.flash, 'notice')
  const alert = text(page.flash, 'alert')
  const [shown, setShown] = useState({ at: path(page.url), notice, alert })
  // The page's address and flash that `shown` was last adjusted to: a change is taken in
  // while rendering, so no frame shows the old message at the new address.
  const [seen, setSeen] = useState({ url: page.url, notice, alert })
  if (seen.url !== page.url || seen.notice !== notice || seen.alert !== alert) {
    setSeen({ url: page.url, notice, alert })
    if (notice || alert) setShown({ at: path(page.url), notice, alert })
    else if (shown.at !== path(page.url)) setShown({ at: path(page.url), notice: null, alert: null })
  }
  const dismiss = () => setShown((prev) => ({ ...prev, notice: null, alert: null }))
  // A new action by the user (a form sent) makes the old message stale.
  useEffect(
    () =>
      router.on('start', (event) => {
        if (event.detail.visit.method !== 'get') setShown((prev) => ({ ...prev, notice: null, alert: null }))
      }),
    [],
  )
  return { ...shown, dismiss }
}

export default function Layout({ children }) {
  const page = usePage()
  const { component } = page
  const user = page.props.auth?.user ?? null
  const { notice, alert, dismiss } = useStickyFlash(page)
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
                  className={isCurrent(item, component) ? 'nav-link active' : 'nav-link'}
                  aria-current={isCurrent(item, component) ? 'page' : undefined}
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
      {user?.site_admin && isAdminPage(component) && <AdminNav component={component} />}
      {notice && (
        <div className="flash" role="status">
          <span>{notice}</span>
          <button type="button" className="flash-close" aria-label="Dismiss" onClick={dismiss}>
            ×
          </button>
        </div>
      )}
      {alert && (
        <div className="flash alert" role="alert">
          <span>{alert}</span>
          <button type="button" className="flash-close" aria-label="Dismiss" onClick={dismiss}>
            ×
          </button>
        </div>
      )}
      <main className="content">{children}</main>
      <footer className="footer">One binary · SQLite · ActionCable · Inertia</footer>
    </div>
  )
}
