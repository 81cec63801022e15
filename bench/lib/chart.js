// A tiny dependency-free SVG chart writer for the benchmark results: line charts over time (several
// series, vertical event markers, horizontal reference lines) and grouped bar charts (with a reference
// line or one reference marker per group; log scale optional). Plain SVG 1.1 text, no scripts, no
// external fonts, so that GitHub, browsers and rsvg-convert render it the same.

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22']
const FONT = 'font-family="DejaVu Sans, Arial, Helvetica, sans-serif"'

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const num = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(2).replace(/\.?0+$/, ''))

/** Round tick values covering [min, max]: about `count` steps of 1, 2 or 5 × 10^k. */
export function ticks(min, max, count = 5) {
  if (!(max > min)) return [min]
  const raw = (max - min) / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag
  const out = []
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)))
  return out
}

/** The smallest round tick value (as `ticks` would place them) at or above `max`. */
export function niceMax(min, max, count = 5) {
  if (!(max > min)) return min + 1
  const raw = (max - min) / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag
  return Number((Math.ceil(max / step - 1e-9) * step).toPrecision(12))
}

/** Short label for a tick: 1500 → 1.5k, 0.25 → 0.25. */
export function fmt(v) {
  const a = Math.abs(v)
  if (a >= 1e6) return `${num(v / 1e6)}M`
  if (a >= 1e4) return `${num(v / 1e3)}k`
  return num(v)
}

function frame({ width, height, title, xLabel, yLabel, legend, m }) {
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`
  ]
  if (xLabel) parts.push(`<text x="${m.l + (width - m.l - m.r) / 2}" y="${height - 8}" text-anchor="middle">${esc(xLabel)}</text>`)
  if (yLabel) parts.push(`<text transform="translate(14 ${m.t + (height - m.t - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`)
  // Legend: one row above the plot, wrapped when long.
  let x = m.l
  let y = 38
  for (const item of legend) {
    const w = 26 + item.name.length * 7.5
    if (x + w > width - m.r) {
      x = m.l
      y += 16
    }
    parts.push(item.dash
      ? `<line x1="${x}" y1="${y - 4}" x2="${x + 16}" y2="${y - 4}" stroke="${item.color}" stroke-width="2" stroke-dasharray="${item.dash}"/>`
      : `<rect x="${x}" y="${y - 10}" width="14" height="10" fill="${item.color}"/>`)
    parts.push(`<text x="${x + 20}" y="${y}">${esc(item.name)}</text>`)
    x += w
  }
  return parts
}

function legendRows(names, width, m) {
  let x = m.l
  let rows = names.length > 0 ? 1 : 0
  for (const n of names) {
    const w = 26 + n.length * 7.5
    if (x + w > width - m.r) {
      x = m.l
      rows++
    }
    x += w
  }
  return rows
}

/**
 * Line chart. series: [{ name, points: [[x, y], …], color?, dash? }]; markers: [{ x, label }] (vertical
 * lines); refs: [{ y, label }] (horizontal dashed lines); yMin/yMax/xMin/xMax optional.
 */
export function lineChart({ title, xLabel = '', yLabel = '', series, markers = [], refs = [], width = 820, height = 420, yMin, yMax, xMin, xMax }) {
  const names = [...series.map((s) => s.name), ...refs.map((r) => r.label)]
  const m = { l: 64, r: 20, t: 40 + 16 * legendRows(names, width, { l: 64, r: 20 }), b: 44 }
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
  const xs = pts.map((p) => p[0])
  const ys = [...pts.map((p) => p[1]), ...refs.map((r) => r.y)]
  const x0 = xMin ?? Math.min(...xs, ...markers.map((k) => k.x))
  const x1 = xMax ?? Math.max(...xs, ...markers.map((k) => k.x), x0 + 1)
  const y0 = yMin ?? Math.min(0, ...ys)
  let y1 = yMax ?? Math.max(...ys, y0 + 1)
  if (yMax === undefined) y1 = niceMax(y0, y1 * 1.03)
  const pw = width - m.l - m.r
  const ph = height - m.t - m.b
  const X = (x) => m.l + ((x - x0) / (x1 - x0 || 1)) * pw
  const Y = (y) => m.t + ph - ((y - y0) / (y1 - y0 || 1)) * ph
  const legend = [...series.map((s, i) => ({ name: s.name, color: s.color ?? PALETTE[i % PALETTE.length], dash: s.dash })), ...refs.map((r) => ({ name: r.label, color: '#555555', dash: '6 4' }))]
  const parts = frame({ width, height, title, xLabel, yLabel, legend: legend.map((l) => ({ ...l, dash: l.dash ?? '1 0' })), m })
  for (const t of ticks(y0, y1)) {
    parts.push(`<line x1="${m.l}" y1="${Y(t)}" x2="${m.l + pw}" y2="${Y(t)}" stroke="#e5e5e5"/>`)
    parts.push(`<text x="${m.l - 6}" y="${Y(t) + 4}" text-anchor="end">${fmt(t)}</text>`)
  }
  for (const t of ticks(x0, x1, 8)) {
    parts.push(`<line x1="${X(t)}" y1="${m.t + ph}" x2="${X(t)}" y2="${m.t + ph + 4}" stroke="#333333"/>`)
    parts.push(`<text x="${X(t)}" y="${m.t + ph + 17}" text-anchor="middle">${fmt(t)}</text>`)
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333333"/>`)
  for (const r of refs) parts.push(`<line x1="${m.l}" y1="${Y(r.y)}" x2="${m.l + pw}" y2="${Y(r.y)}" stroke="#555555" stroke-width="1.5" stroke-dasharray="6 4"/>`)
  for (const k of markers) {
    parts.push(`<line x1="${X(k.x)}" y1="${m.t}" x2="${X(k.x)}" y2="${m.t + ph}" stroke="#000000" stroke-width="1" stroke-dasharray="3 3"/>`)
    parts.push(`<text x="${X(k.x) + 4}" y="${m.t + 14}" font-size="11">${esc(k.label)}</text>`)
  }
  series.forEach((s, i) => {
    const d = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${X(x).toFixed(1)},${Y(Math.min(Math.max(y, y0), y1)).toFixed(1)}`).join(' ')
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${s.color ?? PALETTE[i % PALETTE.length]}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`)
  })
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}

/**
 * Grouped bar chart. groups: labels on the x axis; series: [{ name, values: [one per group], color? }];
 * ref: { y, label } (one horizontal dashed line); groupRefs: { values: [one per group], label } (a
 * short black marker over each group, e.g. the expected share); log: logarithmic y axis.
 */
export function barChart({ title, xLabel = '', yLabel = '', groups, series, ref, groupRefs, width = 820, height = 420, yMax, log = false, valueLabels = false }) {
  const names = [...series.map((s) => s.name), ...(ref ? [ref.label] : []), ...(groupRefs ? [groupRefs.label] : [])]
  const m = { l: 64, r: 20, t: 40 + 16 * legendRows(names, width, { l: 64, r: 20 }), b: 44 }
  const all = [...series.flatMap((s) => s.values), ...(ref ? [ref.y] : []), ...(groupRefs ? groupRefs.values : [])].filter((v) => Number.isFinite(v))
  const pw = width - m.l - m.r
  const ph = height - m.t - m.b
  let Y
  let tickValues
  if (log) {
    const positive = all.filter((v) => v > 0)
    // A value exactly on a decade (a reference line at 1000) still gets room below it.
    const lo = 10 ** Math.floor(Math.log10(Math.min(...positive) * 0.999))
    const hi = 10 ** Math.ceil(Math.log10(yMax ?? Math.max(...positive)))
    Y = (v) => m.t + ph - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo) || 1)) * ph
    tickValues = []
    for (let v = lo; v <= hi * 1.0001; v *= 10) tickValues.push(v)
  } else {
    const top = yMax ?? niceMax(0, Math.max(...all, 1e-9) * 1.08)
    Y = (v) => m.t + ph - (v / top) * ph
    tickValues = ticks(0, top)
  }
  const legend = [
    ...series.map((s, i) => ({ name: s.name, color: s.color ?? PALETTE[i % PALETTE.length] })),
    ...(ref ? [{ name: ref.label, color: '#555555', dash: '6 4' }] : []),
    ...(groupRefs ? [{ name: groupRefs.label, color: '#000000', dash: '1 0' }] : [])
  ]
  const parts = frame({ width, height, title, xLabel, yLabel, legend, m })
  for (const t of tickValues) {
    parts.push(`<line x1="${m.l}" y1="${Y(t)}" x2="${m.l + pw}" y2="${Y(t)}" stroke="#e5e5e5"/>`)
    parts.push(`<text x="${m.l - 6}" y="${Y(t) + 4}" text-anchor="end">${fmt(t)}</text>`)
  }
  const gw = pw / groups.length
  const bw = (gw * 0.8) / series.length
  groups.forEach((g, gi) => {
    const gx = m.l + gi * gw
    series.forEach((s, si) => {
      const v = s.values[gi]
      if (!Number.isFinite(v)) return
      const x = gx + gw * 0.1 + si * bw
      const y = Y(log ? Math.max(v, 0) : v)
      parts.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${(m.t + ph - y).toFixed(1)}" fill="${s.color ?? PALETTE[si % PALETTE.length]}"/>`)
      if (valueLabels) parts.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${(y - 3).toFixed(1)}" text-anchor="middle" font-size="10">${fmt(Number(v.toPrecision(3)))}</text>`)
    })
    if (groupRefs && Number.isFinite(groupRefs.values[gi])) {
      const y = Y(groupRefs.values[gi])
      parts.push(`<line x1="${(gx + gw * 0.05).toFixed(1)}" y1="${y.toFixed(1)}" x2="${(gx + gw * 0.95).toFixed(1)}" y2="${y.toFixed(1)}" stroke="#000000" stroke-width="2.5"/>`)
    }
    parts.push(`<text x="${(gx + gw / 2).toFixed(1)}" y="${m.t + ph + 17}" text-anchor="middle">${esc(g)}</text>`)
  })
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333333"/>`)
  if (ref) parts.push(`<line x1="${m.l}" y1="${Y(ref.y)}" x2="${m.l + pw}" y2="${Y(ref.y)}" stroke="#555555" stroke-width="1.5" stroke-dasharray="6 4"/>`)
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}

/** Counts of `xs` in bins of width `step` from 0 up to `max` (the last bin holds everything above). */
export function histogram(xs, step, max) {
  const n = Math.ceil(max / step)
  const counts = new Array(n + 1).fill(0)
  for (const x of xs) counts[Math.min(n, Math.floor(x / step))]++
  const labels = counts.map((_, i) => (i < n ? `${fmt(i * step)}–${fmt((i + 1) * step)}` : `≥ ${fmt(n * step)}`))
  return { labels, counts }
}
