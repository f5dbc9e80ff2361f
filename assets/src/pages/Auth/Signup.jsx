// Sign up: name, email address, password. The first user ever becomes site admin.
import { Head, Link, useForm } from '@inertiajs/react'

const FIELDS = [
  { name: 'name', label: 'Name', type: 'text', autoComplete: 'name' },
  { name: 'email_address', label: 'Email address', type: 'email', autoComplete: 'username' },
  { name: 'password', label: 'Password (at least 8 characters)', type: 'password', autoComplete: 'new-password' },
]

export default function Signup() {
  const form = useForm({ name: '', email_address: '', password: '' })
  const submit = (event) => {
    event.preventDefault()
    form.post('/registration', { onFinish: () => form.reset('password') })
  }
  return (
    <>
      <Head title="Sign up" />
      <section className="auth card">
        <h1>Create your account</h1>
        <form onSubmit={submit} noValidate>
          {FIELDS.map((f) => (
            <div key={f.name} className="field">
              <label htmlFor={f.name}>{f.label}</label>
              <input
                id={f.name}
                type={f.type}
                autoComplete={f.autoComplete}
                value={form.data[f.name]}
                onChange={(e) => form.setData(f.name, e.target.value)}
                aria-invalid={form.errors[f.name] ? 'true' : undefined}
              />
              {form.errors[f.name] && <p className="field-error">{form.errors[f.name]}</p>}
            </div>
          ))}
          <button type="submit" className="button" disabled={form.processing}>
            {form.processing ? 'Creating…' : 'Sign up'}
          </button>
        </form>
        <p className="muted small">
          Already have an account? <Link href="/login">Sign in</Link>
        </p>
      </section>
    </>
  )
}
