// One account. Its sync markers reload prop `account`; if that reload is refused (the
// account was deleted or I was removed: the server ends my subscription at once), go back
// to my accounts with a notice saying why.
import { Head, Link } from '@inertiajs/react'
import AccountDetail from '../../components/AccountDetail.jsx'
import { ConnectionStatus, useSyncMarkers } from '../../realtime/react.jsx'

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
      <AccountDetail key={account.id} account={account} />
    </>
  )
}
