// A small responsive chart of the last hour, one column per minute (oldest left), drawn in
// SVG: stacked bars (`kind="bars"`) or lines. The plot stretches to its box; the axis labels
// are HTML beside it, so text never scales with the drawing. Hovering a minute shows its
// values (an SVG <title>); screen readers get a one-sentence summary. With nothing above
// zero it says so instead.
import { PLOT_HEIGHT, dataMax, hasData, linePath, niceMax, stackedBars, stats } from '../admin/chart.js'
import { formatClock, formatNumber } from '../admin/format.js'

// series: [{ key, label, values, tone: 'accent'|'ok'|'bad'|'warn'|'muted', dashed }]
// format: a value -> text (axis, tooltips, summary); total: summarize as sums (counts per
// minute) rather than averages; integer: the values are whole numbers.
export default function Chart({ name, title, unit, minutes, series, kind = 'lines', format = formatNumber, total = false, integer = false }) {
  const values = series.map((s) => s.values)
  const n = minutes.length
  const any = n > 0 && hasData(values)
  const top = niceMax(dataMax(values, kind === 'bars'), { integer })
  const summary = any
    ? `${title}, last ${n} minutes: ` +
      series
        .map((s) => {
          const st = stats(s.values)
          return total
            ? `${s.label} ${format(st.sum)} in all, at most ${format(st.peak)} a minute`
            : `${s.label} averaging ${st.avg == null ? 'nothing' : format(st.avg)}, peak ${st.peak == null ? 'none' : format(st.peak)}`
        })
        .join('; ') +
      '.'
    : `${title}: no data in the last hour.`
  const tip = (i) =>
    `${formatClock(minutes[i].at)}  ` +
    series.map((s) => `${s.label}: ${s.values[i] == null ? '—' : format(s.values[i])}`).join(' · ')
  return (
    <figure className="chart" data-testid={`chart-${name}`} data-empty={any ? undefined : 'true'}>
      <figcaption className="chart-head">
        <span className="chart-title">
          {title}
          {unit && <span className="muted"> {unit}</span>}
        </span>
        <span className="chart-legend" aria-hidden="true">
          {series.map((s) => (
            <span key={s.key} className="chart-key">
              <span className={`chart-swatch tone-${s.tone}${s.dashed ? ' dashed' : ''}`} />
              {s.label}
            </span>
          ))}
        </span>
      </figcaption>
      <div className="chart-body">
        <div className="chart-y" aria-hidden="true">
          <span>{any ? format(top) : ''}</span>
          <span>{any ? format(top / 2) : ''}</span>
          <span>0</span>
        </div>
        <div className="chart-main">
          <div className="chart-plot">
            <svg
              viewBox={`0 0 ${Math.max(n, 1)} ${PLOT_HEIGHT}`}
              preserveAspectRatio="none"
              role="img"
              aria-label={summary}
            >
              {(any ? [0, 50, 100] : [100]).map((y) => (
                <line key={y} className="chart-grid" x1="0" x2={Math.max(n, 1)} y1={y} y2={y} vectorEffect="non-scaling-stroke" />
              ))}
              {any && kind === 'bars' &&
                stackedBars(values, top).map((bars, s) =>
                  bars.map((b) => (
                    <rect key={`${s}-${b.i}`} className={`chart-bar tone-${series[s].tone}`} x={b.x} y={b.y} width={b.width} height={b.height} />
                  )),
                )}
              {any && kind !== 'bars' &&
                series.map((s) => (
                  <path
                    key={s.key}
                    className={`chart-line tone-${s.tone}${s.dashed ? ' dashed' : ''}`}
                    d={linePath(s.values, top)}
                    vectorEffect="non-scaling-stroke"
                  />
                ))}
              {any &&
                minutes.map((m, i) => (
                  <rect key={m.at} className="chart-hover" x={i} y="0" width="1" height={PLOT_HEIGHT}>
                    <title>{tip(i)}</title>
                  </rect>
                ))}
            </svg>
            {!any && <p className="chart-empty">No data in the last hour</p>}
          </div>
          <div className="chart-x" aria-hidden="true">
            <span>{n} min ago</span>
            <span>{Math.round(n / 2)} min ago</span>
            <span>now</span>
          </div>
        </div>
      </div>
    </figure>
  )
}
