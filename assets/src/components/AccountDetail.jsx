// One account with its members: rename, add a member, change roles, remove members, leave,
// delete. Controls show only when the server says `can_manage` (leaving: on my own row);
// the server checks again anyway.
//
// The rename form sends the `lock_version` of the name it started from. While the field is
// untouched it follows the account (a rename elsewhere shows up in it); once edited it keeps
// the user's text and the old version, so a save after someone else's rename is refused
// with the current name shown instead of silently replacing it. After any answer to my own
// save, what the page shows now is the new starting point: saving again replaces it.
import { router, useForm } from '@inertiajs/react'
import { useState } from 'react'

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`

function RenameForm({ account }) {
  // What the user typed, and the name and version it started from; null while the field is
  // untouched, so that it shows the account as it is now.
  const [edit, setEdit] = useState(null)
  const [answered, setAnswered] = useState(0)
  // The account and the count of answers that `edit` was last adjusted to: a change is taken
  // in while rendering, as the field must show it in the same frame.
  const [seen, setSeen] = useState({ name: account.name, version: account.lock_version, answered })
  const rename = useForm({ account: { name: account.name, lock_version: account.lock_version } })
  const dirty = edit !== null && edit.name !== edit.base
  const moved = seen.name !== account.name || seen.version !== account.lock_version
  if (moved || seen.answered !== answered) {
    // A rename elsewhere replaces an unedited field; after an answer to my own save, the
    // account as shown now is what the text is saved over.
    let next = moved && !dirty ? null : edit
    if (next && seen.answered !== answered) {
      next = { name: next.name, base: account.name, version: account.lock_version }
    }
    setSeen({ name: account.name, version: account.lock_version, answered })
    if (next !== edit) setEdit(next)
  }
  const name = edit ? edit.name : account.name
  const change = (text) =>
    setEdit(edit ? { ...edit, name: text } : { name: text, base: account.name, version: account.lock_version })
  const submit = (event) => {
    event.preventDefault()
    const version = edit ? edit.version : account.lock_version
    rename.transform(() => ({ account: { name, lock_version: version } }))
    rename.patch(`/accounts/${account.id}`, {
      preserveScroll: true,
      onFinish: () => setAnswered((n) => n + 1),
    })
  }
  const stale = rename.errors.lock_version
  return (
    <form onSubmit={submit} className="inline-form" aria-label="Rename account" noValidate>
      <label htmlFor="account-name-input">Name</label>
      <div className="field-row">
        <input
          id="account-name-input"
          type="text"
          value={name}
          onChange={(e) => change(e.target.value)}
          aria-invalid={rename.errors.name || stale ? 'true' : undefined}
          data-dirty={dirty ? 'true' : undefined}
        />
        <button type="submit" className="button" disabled={rename.processing}>
          Rename
        </button>
      </div>
      {rename.errors.name && <p className="field-error">Name {rename.errors.name}</p>}
      {stale && (
        <p className="field-error" role="alert" data-testid="rename-conflict">
          {stale}
        </p>
      )}
    </form>
  )
}

function AddMemberForm({ account }) {
  const invite = useForm({ member: { email_address: '', role: 'member' } })
  const submit = (event) => {
    event.preventDefault()
    invite.post(`/accounts/${account.id}/members`, {
      preserveScroll: true,
      onSuccess: () => invite.reset(),
    })
  }
  const setMember = (patch) => invite.setData('member', { ...invite.data.member, ...patch })
  return (
    <form onSubmit={submit} className="inline-form" aria-label="Add member" noValidate>
      <label htmlFor="member-email">Add member by email</label>
      <div className="field-row">
        <input
          id="member-email"
          type="email"
          placeholder="name@example.com"
          value={invite.data.member.email_address}
          onChange={(e) => setMember({ email_address: e.target.value })}
          aria-invalid={invite.errors.email_address ? 'true' : undefined}
        />
        <select aria-label="Role" value={invite.data.member.role} onChange={(e) => setMember({ role: e.target.value })}>
          <option value="member">member</option>
          <option value="admin">admin</option>
        </select>
        <button type="submit" className="button" disabled={invite.processing}>
          Add
        </button>
      </div>
      <p className="hint">They see a notice on their accounts page and can leave at any time.</p>
      {invite.errors.email_address && <p className="field-error">Email address {invite.errors.email_address}</p>}
      {invite.errors.role && <p className="field-error">Role {invite.errors.role}</p>}
      {invite.errors.member && (
        <p className="field-error" data-testid="member-error">
          {invite.errors.member}
        </p>
      )}
    </form>
  )
}

export default function AccountDetail({ account }) {
  const manage = account.can_manage
  const team = account.account_type === 'team'
  const changeRole = (member, role) =>
    router.patch(`/account_users/${member.id}`, { member: { role } }, { preserveScroll: true })
  const removeMember = (member) => {
    const question = member.mine ? `Leave ${account.name}?` : `Remove ${member.user.email_address}?`
    if (window.confirm(question)) router.delete(`/account_users/${member.id}`, { preserveScroll: true })
  }
  const destroy = () => {
    if (window.confirm(`Delete ${account.name}?`)) router.delete(`/accounts/${account.id}`)
  }
  return (
    <section className="card account-detail" data-testid="account-detail" data-account-id={account.id}>
      <h2 data-testid="account-name">{account.name}</h2>
      <p className="muted small">
        {account.account_type} · owner {account.owner.name || account.owner.email_address} ·{' '}
        <span data-testid="members-count">{plural(account.members_count, 'member', 'members')}</span>
      </p>
      {manage && <RenameForm key={account.id} account={account} />}
      <h3>Members</h3>
      <div className="table-scroll">
        <table className="members" data-testid="members">
          <thead>
            <tr>
              <th>Member</th>
              <th>Role</th>
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {account.members.map((member) => (
              <tr key={member.id} data-testid="member" data-email={member.user.email_address}>
                <td className="member-name">
                  {member.user.name || member.user.email_address}
                  {member.mine && <span className="muted small"> (you)</span>}
                  {!member.seen && !member.mine && (
                    <span className="muted small" data-testid="member-unseen">
                      {' '}
                      · not told yet
                    </span>
                  )}
                </td>
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
                <td className="actions-cell">
                  {member.role !== 'owner' && (manage || member.mine) && (
                    <button type="button" className="link-button danger" onClick={() => removeMember(member)}>
                      {member.mine ? 'Leave' : 'Remove'}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {manage && team && <AddMemberForm account={account} />}
      {manage && !team && (
        <p className="hint" data-testid="personal-hint">
          A personal account has only its owner. Create a team account to work with others.
        </p>
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
