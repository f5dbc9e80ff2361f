// What trifecta is, with links to the rest of the app.
import { Head, Link } from '@inertiajs/react'

const PARTS = [
  { name: 'Solid Queue', text: 'Durable background jobs with retries, schedules and concurrency limits.' },
  { name: 'Solid Cache', text: 'An expiring, size-bounded key-value cache in its own SQLite file.' },
  { name: 'Solid Cable', text: 'Pub/sub for ActionCable clients, across processes, through SQLite.' },
]

export default function Home({ app }) {
  return (
    <>
      <Head title="Home" />
      <section className="hero">
        <h1>One binary. Real-time apps on SQLite.</h1>
        <p className="lead">
          trifecta rebuilds the Rails 8 “solid trifecta” in Rust and serves this React front end
          from inside the binary, speaking the Inertia and ActionCable protocols.
        </p>
        <div className="actions">
          <Link href="/status" className="button">
            Server status
          </Link>
          <a href="/up" className="button secondary">
            Health check (JSON)
          </a>
        </div>
      </section>
      <section className="cards">
        {PARTS.map((part) => (
          <article key={part.name} className="card">
            <h2>{part.name}</h2>
            <p>{part.text}</p>
          </article>
        ))}
      </section>
      {app && (
        <p className="muted small">
          {app.name} {app.version}
        </p>
      )}
    </>
  )
}
