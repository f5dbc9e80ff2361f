// One account. Its sync markers reload prop `account`; if that reload is refused (the
// account was deleted or I was removed), go back to my accounts.
import { Head, Link } from '@inertiajs/react'
import AccountDetail from '../../components/AccountDetail.jsx'
import { useSyncMarkers } from '../../realtime/react.jsx'

export default function AccountsShow({ account }) {
  useSyncMarkers('Account', account.id, ['account'], { gone: '/accounts' })
  return (
    <>
      <Head title={account.name} />
      <p className="small">
        <Link href="/accounts">← Accounts</Link>
      </p>
      <AccountDetail key={account.id} account={account} />
    </>
  )
}
