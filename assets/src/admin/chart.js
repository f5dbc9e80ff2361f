// The geometry of the dashboard charts, kept out of the component so it can be tested:
// a round top for the value axis, and SVG paths in a viewBox of `n` columns by 100 units
// (column i spans x = i..i+1; y = 0 is the top).

export const PLOT_HEIGHT = 100

// A round upper bound for the axis: 1, 2 or 5 times a power of ten. Integer series get an
// even top below 10, so the middle grid line sits on a whole number.
export function niceMax(max, { integer = false } = {}) {
  if (!(max > 0)) return integer ? 2 : 1
  if (integer && max <= 10) return Math.max(2, Math.ceil(max / 2) * 2)
  const step = 10 ** Math.floor(Math.log10(max))
  const f = max / step
  const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10
  return nice * step
}

const r = (v) => Math.round(v * 100) / 100

// The y of a value on an axis topping at `top`.
export const yOf = (value, top) => r(PLOT_HEIGHT - (Math.min(value, top) / top) * PLOT_HEIGHT)

// A line through the middle of each column; a null value breaks it. A point with no
// neighbour is drawn as a short dash so it still shows.
export function linePath(values, top) {
  const parts = []
  let open = false
  values.forEach((v, i) => {
    if (v == null) {
      open = false
      return
    }
    const y = yOf(v, top)
    const x = i + 0.5
    const alone = (i === 0 || values[i - 1] == null) && (i === values.length - 1 || values[i + 1] == null)
    if (alone) parts.push(`M${r(x - 0.35)} ${y}H${r(x + 0.35)}`)
    else parts.push(`${open ? 'L' : 'M'}${x} ${y}`)
    open = !alone
  })
  return parts.join('')
}

// Stacked bars: for each series (bottom first), one rectangle per column with a value above
// zero: `{ i, x, y, width, height }`.
export function stackedBars(seriesValues, top, gap = 0.15) {
  const base = seriesValues[0]?.map(() => 0) ?? []
  return seriesValues.map((values) =>
    values.flatMap((v, i) => {
      if (!(v > 0)) return []
      const y0 = base[i]
      base[i] += v
      const yTop = yOf(y0 + v, top)
      const yBottom = yOf(y0, top)
      return [{ i, x: r(i + gap), y: yTop, width: r(1 - 2 * gap), height: r(yBottom - yTop) }]
    }),
  )
}

// The highest value to show: the stack's total per column for bars, else the largest value.
export function dataMax(seriesValues, stacked) {
  if (stacked) {
    const n = seriesValues[0]?.length ?? 0
    let max = 0
    for (let i = 0; i < n; i += 1) max = Math.max(max, seriesValues.reduce((sum, vs) => sum + (vs[i] ?? 0), 0))
    return max
  }
  return Math.max(0, ...seriesValues.flat().filter((v) => v != null))
}

// Whether there is anything to draw: some value above zero.
export const hasData = (seriesValues) => seriesValues.some((vs) => vs.some((v) => v != null && v > 0))

// Sum, peak and average (of the non-null values) of a series.
export function stats(values) {
  const present = values.filter((v) => v != null)
  const sum = present.reduce((a, b) => a + b, 0)
  return {
    sum,
    peak: present.length ? Math.max(...present) : null,
    avg: present.length ? sum / present.length : null,
    last: values.length ? values[values.length - 1] : null,
  }
}
