// My accounts. Each listed account's sync markers reload the list (prop `accounts`), so a
// rename, a member change or a deletion by someone else shows up without a reload.
import { Head, useForm } from '@inertiajs/react'
import AccountsTable from '../../components/AccountsTable.jsx'
import { useSyncMarkers } from '../../realtime/react.jsx'

function Watch({ id }) {
  useSyncMarkers('Account', id, [], { as: ['accounts'] })
  return null
}

export default function AccountsIndex({ accounts }) {
  const form = useForm({ account: { name: '' } })
  const submit = (event) => {
    event.preventDefault()
    form.post('/accounts')
  }
  return (
    <>
      <Head title="Accounts" />
      <div className="page-head">
        <h1>Accounts</h1>
      </div>
      {accounts.map((a) => (
        <Watch key={a.id} id={a.id} />
      ))}
      <AccountsTable accounts={accounts} hrefOf={(a) => `/accounts/${a.id}`} />
      <form onSubmit={submit} className="inline-form" aria-label="New account">
        <label htmlFor="new-account-name">New team account</label>
        <input
          id="new-account-name"
          value={form.data.account.name}
          onChange={(e) => form.setData('account', { name: e.target.value })}
          aria-invalid={form.errors.name ? 'true' : undefined}
        />
        <button type="submit" className="button" disabled={form.processing}>
          Create
        </button>
        {form.errors.name && <p className="field-error">Name {form.errors.name}</p>}
      </form>
    </>
  )
}
