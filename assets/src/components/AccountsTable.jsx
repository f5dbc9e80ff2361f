// A table of accounts (the seed's `account_props`), each name linking to `hrefOf(account)`.
// On narrow screens the type and creation date columns step aside.
import { Link } from '@inertiajs/react'

export default function AccountsTable({ accounts, hrefOf, selectedId }) {
  if (accounts.length === 0) return <p className="muted">No accounts.</p>
  return (
    <div className="table-scroll">
      <table className="accounts" data-testid="accounts">
        <thead>
          <tr>
            <th>Name</th>
            <th className="wide-only">Type</th>
            <th>Owner</th>
            <th>Members</th>
            <th className="wide-only">Created</th>
          </tr>
        </thead>
        <tbody>
          {accounts.map((account) => (
            <tr
              key={account.id}
              data-testid="account-row"
              data-account-id={account.id}
              className={account.id === selectedId ? 'selected' : undefined}
            >
              <td>
                <Link href={hrefOf(account)}>{account.name}</Link>
              </td>
              <td className="wide-only">{account.account_type}</td>
              <td className="owner-cell">{account.owner.name || account.owner.email_address}</td>
              <td>{account.members_count}</td>
              <td className="wide-only">{new Date(account.created_at).toLocaleDateString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
