// My accounts. Each listed account's sync markers reload the list (prop `accounts`), so a
// rename, a member change or a deletion by someone else shows up without a reload; my own
// stream (`User:<me>`) reloads the list and the notices when someone adds me to an account
// or removes me. `added` lists, once, the accounts others added me to.
import { Head, Link, useForm } from '@inertiajs/react'
import AccountsTable from '../../components/AccountsTable.jsx'
import { ConnectionStatus, useSyncMarkers } from '../../realtime/react.jsx'

function Watch({ id }) {
  useSyncMarkers('Account', id, [], { as: ['accounts'] })
  return null
}

function Added({ added }) {
  if (added.length === 0) return null
  return (
    <div className="notice-box" role="status" data-testid="added-notice">
      {added.map((a) => (
        <p key={a.account.id}>
          {a.added_by ? `${a.added_by} added you` : 'You were added'} to{' '}
          <Link href={`/accounts/${a.account.id}`}>{a.account.name}</Link> as {a.role}. Its members can now see
          your name. Not for you? Open it and choose Leave.
        </p>
      ))}
    </div>
  )
}

export default function AccountsIndex({ accounts, added = [], me }) {
  useSyncMarkers('User', me, [], { as: ['accounts', 'added'] })
  const form = useForm({ account: { name: '' } })
  const submit = (event) => {
    event.preventDefault()
    form.post('/accounts', { onSuccess: () => form.reset() })
  }
  return (
    <>
      <Head title="Accounts" />
      <div className="page-head">
        <h1>Accounts</h1>
        <ConnectionStatus />
      </div>
      <Added added={added} />
      {accounts.map((a) => (
        <Watch key={a.id} id={a.id} />
      ))}
      <AccountsTable accounts={accounts} hrefOf={(a) => `/accounts/${a.id}`} />
      <form onSubmit={submit} className="inline-form card" aria-label="New account" noValidate>
        <label htmlFor="new-account-name">New team account</label>
        <div className="field-row">
          <input
            id="new-account-name"
            type="text"
            placeholder="Team name"
            value={form.data.account.name}
            onChange={(e) => form.setData('account', { name: e.target.value })}
            aria-invalid={form.errors.name ? 'true' : undefined}
          />
          <button type="submit" className="button" disabled={form.processing}>
            Create
          </button>
        </div>
        {form.errors.name && <p className="field-error">Name {form.errors.name}</p>}
      </form>
    </>
  )
}
