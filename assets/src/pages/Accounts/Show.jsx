// One account. Its sync markers reload prop `account`; if that reload is refused (the
// account was deleted or I was removed: the server ends my subscription at once), go back
// to my accounts with a notice saying why. Who else is looking at the account shows above it.
import { Head, Link } from '@inertiajs/react'
import AccountDetail from '../../components/AccountDetail.jsx'
import { ConnectionStatus, PresenceList, useSyncMarkers } from '../../realtime/react.jsx'

export default function AccountsShow({ account }) {
  useSyncMarkers('Account', account.id, ['account'], {
    gone: '/accounts',
    goneNotice: `You no longer have access to “${account.name}”: it was deleted or you were removed from it.`,
  })
  return (
    <>
      <Head title={account.name} />
      <div className="page-head small">
        <Link href="/accounts">← Accounts</Link>
        <ConnectionStatus />
      </div>
      <PresenceList identifier={{ channel: 'SyncChannel', model: 'Account', id: String(account.id) }} />
      <AccountDetail key={account.id} account={account} />
    </>
  )
}
