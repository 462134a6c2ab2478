/** The chart of `latest.md`: throughput relative to the hand-written handler, per scenario and variant. */
import type { Results } from './results.js'
import { SCENARIO_LABELS, VARIANT_LABELS, type Variant } from './scenarios.js'

const COLORS: Readonly<Record<Variant, string>> = {
  bare: '#b0b0b0',
  handwritten: '#4d4d4d',
  ours: '#d62728',
  'ours-cache': '#ff9896',
  'koa-session': '#1f77b4',
  'koa-generic-session': '#17becf',
  'express-session': '#ff7f0e',
  'fastify-session': '#2ca02c',
}

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

/** Grouped bars: throughput relative to the hand-written handler, per scenario (groups) and variant (bars). */
export function renderChart(r: Results): string {
  const variants = r.variants
  const scenarios = r.scenarios
  const W = 1000
  const H = 500
  const left = 56
  const right = 16
  const top = 48
  const bottom = 130
  const plotW = W - left - right
  const plotH = H - top - bottom
  const values = scenarios.flatMap((sc) => variants.map((v) => r.summary[sc]?.[v]?.ratioHandwritten ?? 0))
  const maxValue = Math.max(1.2, ...values.filter(Number.isFinite))
  const step = maxValue > 3 ? 0.5 : 0.25
  const yMax = Math.ceil(maxValue / step) * step
  const y = (v: number): number => top + plotH - (v / yMax) * plotH
  const groupW = plotW / Math.max(1, scenarios.length)
  const barW = Math.min(26, (groupW * 0.84) / Math.max(1, variants.length))
  const parts: string[] = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">` +
      `${esc('Throughput relative to a hand-written GET + SET handler (1.0), per scenario')}</text>`,
    `<text x="${W / 2}" y="39" text-anchor="middle" fill="#555">${esc(
      `${r.machine.cpuModel}, ${r.machine.cores} cores, Node ${r.machine.node}, Redis ${r.machine.redis}; ` +
        `${r.settings.connections} connections; median of ${r.settings.rounds} round(s)` +
        `${r.combined === undefined ? '' : `, then of ${r.combined.runs.length} runs`}; ${r.createdAt.slice(0, 10)}`,
    )}</text>`,
  )
  for (let t = 0; t <= yMax + 1e-9; t += step) {
    const ty = y(t)
    parts.push(
      `<line x1="${left}" x2="${W - right}" y1="${ty.toFixed(1)}" y2="${ty.toFixed(1)}" stroke="#e6e6e6"/>`,
      `<text x="${left - 6}" y="${(ty + 4).toFixed(1)}" text-anchor="end" fill="#555">${t.toFixed(2)}</text>`,
    )
  }
  parts.push(
    `<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">` +
      `× hand-written req/s</text>`,
  )
  for (const [si, sc] of scenarios.entries()) {
    const gx = left + si * groupW
    const x0 = gx + (groupW - barW * variants.length) / 2
    for (const [vi, v] of variants.entries()) {
      const value = r.summary[sc]?.[v]?.ratioHandwritten
      if (value === undefined || !Number.isFinite(value)) continue
      const bx = x0 + vi * barW
      const by = y(value)
      parts.push(
        `<rect x="${(bx + 1).toFixed(1)}" y="${by.toFixed(1)}" width="${(barW - 2).toFixed(1)}" ` +
          `height="${(top + plotH - by).toFixed(1)}" fill="${COLORS[v]}">` +
          `<title>${esc(`${VARIANT_LABELS[v]}, ${SCENARIO_LABELS[sc]}: ${value.toFixed(2)}×`)}</title></rect>`,
        `<text transform="translate(${(bx + barW / 2 + 3).toFixed(1)} ${(by - 4).toFixed(1)}) rotate(-90)" ` +
          `font-size="10" fill="#333">${value.toFixed(2)}</text>`,
      )
    }
    parts.push(
      `<text x="${(gx + groupW / 2).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle" fill="#222">` +
        `${esc(SCENARIO_LABELS[sc])}</text>`,
    )
  }
  // Reference lines: the yardstick and the 0.9 target.
  for (const [value, label, dash, dy] of [
    [1, '1.0 hand-written', '6 3', -3],
    [0.9, '0.9 target', '2 3', 11],
  ] as const) {
    parts.push(
      `<line x1="${left}" x2="${W - right}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}" ` +
        `stroke="#222" stroke-dasharray="${dash}"/>`,
      `<text x="${W - right - 4}" y="${(y(value) + dy).toFixed(1)}" text-anchor="end" font-size="10" fill="#222">${label}</text>`,
    )
  }
  parts.push(`<line x1="${left}" x2="${W - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`)
  const cols = 3
  for (const [vi, v] of variants.entries()) {
    const lx = left + (vi % cols) * (plotW / cols)
    const ly = top + plotH + 44 + Math.floor(vi / cols) * 20
    parts.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[v]}"/>`,
      `<text x="${lx + 18}" y="${ly}" fill="#222"${v.startsWith('ours') ? ' font-weight="600"' : ''}>${esc(VARIANT_LABELS[v])}</text>`,
    )
  }
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}
