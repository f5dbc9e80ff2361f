// A table of accounts (the seed's `account_props`), each name linking to `hrefOf(account)`.
import { Link } from '@inertiajs/react'

export default function AccountsTable({ accounts, hrefOf, selectedId }) {
  if (accounts.length === 0) return <p className="muted">No accounts.</p>
  return (
    <table className="accounts" data-testid="accounts">
      <thead>
        <tr>
          <th>Name</th>
          <th>Type</th>
          <th>Owner</th>
          <th>Members</th>
          <th>Created</th>
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
            <td>{account.account_type}</td>
            <td>{account.owner.name || account.owner.email_address}</td>
            <td>{account.members_count}</td>
            <td>{new Date(account.created_at).toLocaleDateString()}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
