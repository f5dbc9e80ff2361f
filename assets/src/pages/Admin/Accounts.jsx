// Site admins: every account, newest first, and the selected one's detail. Watches
// `Account:all` (reloads `accounts`) and the selected account (reloads `selected_account`).
import { Head } from '@inertiajs/react'
import AccountDetail from '../../components/AccountDetail.jsx'
import AccountsTable from '../../components/AccountsTable.jsx'
import { useSyncMarkers } from '../../realtime/react.jsx'

export default function AdminAccounts({ accounts, selected_account: selected }) {
  useSyncMarkers('Account', 'all', ['accounts'])
  useSyncMarkers('Account', selected?.id, [], {
    as: ['selected_account'],
    gone: '/admin/accounts',
    goneNotice: selected ? `“${selected.name}” was deleted.` : undefined,
  })
  return (
    <>
      <Head title="All accounts" />
      <div className="page-head">
        <h1>All accounts</h1>
      </div>
      <AccountsTable
        accounts={accounts}
        hrefOf={(a) => `/admin/accounts?account_id=${a.id}`}
        selectedId={selected?.id}
      />
      {selected ? (
        <AccountDetail key={selected.id} account={selected} />
      ) : (
        accounts.length > 0 && (
          <p className="hint card" data-testid="select-hint">
            Select an account above to see its members and manage it.
          </p>
        )
      )}
    </>
  )
}
