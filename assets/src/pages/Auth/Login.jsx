// Sign in: email address and password; errors come back as props.errors after a redirect.
import { Head, Link, useForm } from '@inertiajs/react'

export default function Login({ signup_enabled: signupEnabled }) {
  const form = useForm({ email_address: '', password: '' })
  const submit = (event) => {
    event.preventDefault()
    form.post('/session', { onFinish: () => form.reset('password') })
  }
  return (
    <>
      <Head title="Sign in" />
      <section className="auth card">
        <h1>Sign in</h1>
        <form onSubmit={submit} noValidate>
          <label htmlFor="email_address">Email address</label>
          <input
            id="email_address"
            type="email"
            autoComplete="username"
            autoFocus
            required
            value={form.data.email_address}
            onChange={(e) => form.setData('email_address', e.target.value)}
            aria-invalid={form.errors.email_address ? 'true' : undefined}
          />
          {form.errors.email_address && <p className="field-error">{form.errors.email_address}</p>}
          <label htmlFor="password">Password</label>
          <input
            id="password"
            type="password"
            autoComplete="current-password"
            required
            value={form.data.password}
            onChange={(e) => form.setData('password', e.target.value)}
            aria-invalid={form.errors.password ? 'true' : undefined}
          />
          {form.errors.password && <p className="field-error">{form.errors.password}</p>}
          <button type="submit" className="button" disabled={form.processing}>
            {form.processing ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        {signupEnabled && (
          <p className="muted small">
            No account yet? <Link href="/signup">Sign up</Link>
          </p>
        )}
      </section>
    </>
  )
}
