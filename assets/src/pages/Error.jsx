// The Inertia error page (404, 500, ...): the server sends only a status and a safe message.
import { Head, Link } from '@inertiajs/react'

export default function Error({ status, message }) {
  return (
    <>
      <Head title={String(status)} />
      <section className="error-page">
        <p className="error-code">{status}</p>
        <h1>{message}</h1>
        <Link href="/" className="button">
          Back to home
        </Link>
      </section>
    </>
  )
}
