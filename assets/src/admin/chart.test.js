// Unit tests (vitest) for the chart geometry.
import { describe, expect, it } from 'vitest'
import { dataMax, hasData, linePath, niceMax, stackedBars, stats, yOf } from './chart.js'

describe('niceMax', () => {
  it('rounds up to 1, 2 or 5 times a power of ten', () => {
    expect(niceMax(0.7)).toBe(1)
    expect(niceMax(1)).toBe(1)
    expect(niceMax(130)).toBe(200)
    expect(niceMax(201)).toBe(500)
    expect(niceMax(5001)).toBe(10000)
    expect(niceMax(0)).toBe(1)
  })
  it('gives whole-number series an even top below ten', () => {
    expect(niceMax(0, { integer: true })).toBe(2)
    expect(niceMax(1, { integer: true })).toBe(2)
    expect(niceMax(3, { integer: true })).toBe(4)
    expect(niceMax(7, { integer: true })).toBe(8)
    expect(niceMax(10, { integer: true })).toBe(10)
    expect(niceMax(11, { integer: true })).toBe(20)
  })
})

describe('paths', () => {
  it('maps values onto 100 units, top down, clamped at the top', () => {
    expect(yOf(0, 10)).toBe(100)
    expect(yOf(5, 10)).toBe(50)
    expect(yOf(20, 10)).toBe(0)
  })
  it('draws a line through column middles and breaks it at gaps', () => {
    expect(linePath([0, 5, 10], 10)).toBe('M0.5 100L1.5 50L2.5 0')
    expect(linePath([0, 5, null, 10, 10], 10)).toBe('M0.5 100L1.5 50M3.5 0L4.5 0')
  })
  it('draws a lone point as a short dash', () => {
    expect(linePath([null, 5, null], 10)).toBe('M1.15 50H1.85')
    expect(linePath([], 10)).toBe('')
  })
  it('stacks bars from the bottom and skips zeros', () => {
    const [first, second] = stackedBars([[2, 0], [1, 3]], 4, 0.1)
    expect(first).toEqual([{ i: 0, x: 0.1, y: 50, width: 0.8, height: 50 }])
    expect(second).toEqual([
      { i: 0, x: 0.1, y: 25, width: 0.8, height: 25 },
      { i: 1, x: 1.1, y: 25, width: 0.8, height: 75 },
    ])
  })
})

describe('data', () => {
  it('takes the stacked total for bars and the largest value for lines', () => {
    expect(dataMax([[1, 4], [3, 1]], true)).toBe(5)
    expect(dataMax([[1, 4], [3, null]], false)).toBe(4)
    expect(dataMax([[null]], false)).toBe(0)
  })
  it('has data only with some value above zero', () => {
    expect(hasData([[0, null], [0]])).toBe(false)
    expect(hasData([[0, 1]])).toBe(true)
  })
  it('sums, peaks and averages the values present', () => {
    expect(stats([1, null, 3])).toEqual({ sum: 4, peak: 3, avg: 2, last: 3 })
    expect(stats([null])).toEqual({ sum: 0, peak: null, avg: null, last: null })
  })
})
