// One account with its members: rename, add a member, change roles, remove members, delete.
// Controls show only when the server says `can_manage`; the server checks again anyway.
import { router, useForm } from '@inertiajs/react'

export default function AccountDetail({ account }) {
  const rename = useForm({ account: { name: account.name } })
  const invite = useForm({ member: { email_address: '', role: 'member' } })
  const manage = account.can_manage
  const submitRename = (event) => {
    event.preventDefault()
    rename.patch(`/accounts/${account.id}`, { preserveScroll: true })
  }
  const submitInvite = (event) => {
    event.preventDefault()
    invite.post(`/accounts/${account.id}/members`, {
      preserveScroll: true,
      onSuccess: () => invite.reset(),
    })
  }
  const changeRole = (member, role) =>
    router.patch(`/account_users/${member.id}`, { member: { role } }, { preserveScroll: true })
  const removeMember = (member) => {
    if (window.confirm(`Remove ${member.user.email_address}?`)) {
      router.delete(`/account_users/${member.id}`, { preserveScroll: true })
    }
  }
  const destroy = () => {
    if (window.confirm(`Delete ${account.name}?`)) router.delete(`/accounts/${account.id}`)
  }
  return (
    <section className="card account-detail" data-testid="account-detail" data-account-id={account.id}>
      <h2 data-testid="account-name">{account.name}</h2>
      <p className="muted small">
        {account.account_type} · owner {account.owner.name || account.owner.email_address} ·{' '}
        <span data-testid="members-count">{account.members_count}</span> members
      </p>
      {manage && (
        <form onSubmit={submitRename} className="inline-form" aria-label="Rename account">
          <label htmlFor="account-name-input">Name</label>
          <input
            id="account-name-input"
            value={rename.data.account.name}
            onChange={(e) => rename.setData('account', { name: e.target.value })}
            aria-invalid={rename.errors.name ? 'true' : undefined}
          />
          <button type="submit" className="button" disabled={rename.processing}>
            Rename
          </button>
          {rename.errors.name && <p className="field-error">Name {rename.errors.name}</p>}
        </form>
      )}
      <h3>Members</h3>
      <table className="members" data-testid="members">
        <thead>
          <tr>
            <th>Member</th>
            <th>Role</th>
            {manage && <th />}
          </tr>
        </thead>
        <tbody>
          {account.members.map((member) => (
            <tr key={member.id} data-testid="member" data-email={member.user.email_address}>
              <td>{member.user.name || member.user.email_address}</td>
              <td>
                {manage && member.role !== 'owner' ? (
                  <select
                    aria-label={`Role of ${member.user.email_address}`}
                    value={member.role}
                    onChange={(e) => changeRole(member, e.target.value)}
                  >
                    <option value="admin">admin</option>
                    <option value="member">member</option>
                  </select>
                ) : (
                  member.role
                )}
              </td>
              {manage && (
                <td>
                  {member.role !== 'owner' && (
                    <button type="button" className="link-button" onClick={() => removeMember(member)}>
                      Remove
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {manage && (
        <form onSubmit={submitInvite} className="inline-form" aria-label="Add member">
          <label htmlFor="member-email">Add member by email</label>
          <input
            id="member-email"
            type="email"
            value={invite.data.member.email_address}
            onChange={(e) => invite.setData('member', { ...invite.data.member, email_address: e.target.value })}
            aria-invalid={invite.errors.email_address ? 'true' : undefined}
          />
          <select
            aria-label="Role"
            value={invite.data.member.role}
            onChange={(e) => invite.setData('member', { ...invite.data.member, role: e.target.value })}
          >
            <option value="member">member</option>
            <option value="admin">admin</option>
          </select>
          <button type="submit" className="button" disabled={invite.processing}>
            Add
          </button>
          {invite.errors.email_address && <p className="field-error">Email address {invite.errors.email_address}</p>}
          {invite.errors.role && <p className="field-error">Role {invite.errors.role}</p>}
        </form>
      )}
      {manage && (
        <p>
          <button type="button" className="button secondary" onClick={destroy}>
            Delete account
          </button>
        </p>
      )}
    </section>
  )
}
