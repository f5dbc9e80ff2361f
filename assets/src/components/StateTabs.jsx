// The six job states as tiles with their counts, each a link to that state's list with the
// current filter; the state shown is marked. A capped count reads "10,000+".
import { Link } from '@inertiajs/react'
import { formatCount } from '../admin/format.js'
import { STATES, STATE_LABELS, listUrl } from '../admin/jobs.js'

export default function StateTabs({ counts, active, filter }) {
  return (
    <nav className="state-tabs" aria-label="Job states">
      {STATES.map((state) => {
        const count = counts?.[state]
        const current = state === active
        const alarm = state === 'failed' && count && count.n > 0
        return (
          <Link
            key={state}
            href={listUrl(state, filter)}
            className={`state-tab${current ? ' active' : ''}${alarm ? ' alarm' : ''}`}
            aria-current={current ? 'page' : undefined}
            data-testid={`state-tab-${state}`}
          >
            <span className="state-count" data-testid={`count-${state}`} title={count?.more ? `more than ${formatCount({ n: count.n })}` : undefined}>
              {formatCount(count)}
            </span>
            <span className="state-label">{STATE_LABELS[state]}</span>
          </Link>
        )
      })}
    </nav>
  )
}
