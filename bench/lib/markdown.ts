/** Markdown building blocks shared by the report sections: number formats, variant names, tables. */
import type { CommandCounts } from './redis-stats.js'
import type { Range, Results } from './results.js'
import { type Scenario, VARIANT_SHORT, type Variant } from './scenarios.js'

/** The peers our targets are judged against, in report order. */
export const PEERS: readonly Variant[] = [
  'koa-session',
  'koa-generic-session',
  'express-session',
  'fastify-session',
]

/** A number with `digits` decimals, or `n/a` when it was not measured. @example fmt(1.234) // '1.23' */
export const fmt = (value: number | undefined | null, digits = 2): string =>
  value === undefined || value === null || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits)

/** A rounded number with thousands separators, or `n/a`. @example int(12345.6) // '12,346' */
export const int = (value: number | undefined | null): string =>
  value === undefined || value === null || !Number.isFinite(value)
    ? 'n/a'
    : Math.round(value).toLocaleString('en-US')

/**
 * A figure with, when it has one, its range over the runs beside it in brackets (a combined result).
 *
 * @example ranged(1.45, { min: 1.38, max: 1.52 }) // '1.45 (1.38–1.52)'
 */
export function ranged(
  value: number | undefined | null,
  range: Range | undefined,
  format: (x: number | undefined | null) => string = fmt,
): string {
  const text = format(value)
  return range === undefined || text === 'n/a' ? text : `${text} (${format(range.min)}–${format(range.max)})`
}

/**
 * The range over the runs of one figure of a combined result: a `summary` field, or a `commands` field by
 * its dotted path. Undefined for a single run.
 *
 * @example rangeOf(results, 'commands', 'read', 'ours', 'redisCpu.totalUs')
 */
export function rangeOf(
  r: Results,
  part: 'summary' | 'commands',
  sc: Scenario,
  v: Variant,
  path: string,
): Range | undefined {
  return r.combined?.[part][sc]?.[v]?.[path]
}

/** A variant's short name, ours (with and without the cache) in bold. @example name('ours') // '**ours**' */
export const name = (v: Variant): string =>
  v.startsWith('ours') ? `**${VARIANT_SHORT[v]}**` : VARIANT_SHORT[v]

/** One table row. @example row(['a', 'b']) // '| a | b |' */
export function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`
}

/**
 * A markdown table; columns right-aligned but the first, unless `align` says otherwise.
 *
 * @example
 * table(['variant', 'req/s'], [['ours', '1,000']])
 */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align?: string[],
): string {
  const sep = header.map((_, i) => align?.[i] ?? (i === 0 ? ':--' : '--:'))
  return [row(header), row(sep), ...rows.map(row)].join('\n')
}

/** The sum of a per-command map, or undefined. @example total({ get: 1, set: 1 }) // 2 */
export function total(counts: CommandCounts | undefined): number | undefined {
  return counts === undefined ? undefined : Object.values(counts).reduce((a, b) => a + b, 0)
}

/** A count without trailing noise. @example fmtCount(0.5) // '0.5' */
export function fmtCount(c: number): string {
  return Number.isInteger(c) ? String(c) : c.toFixed(2).replace(/0$/, '')
}

/** Per-command counts as `total (n× name, ...)`, largest first. @example commandCell({ get: 1 }) // '1 (get)' */
export function commandCell(counts: CommandCounts | undefined): string {
  if (counts === undefined) return 'n/a'
  const t = total(counts) as number
  const parts = Object.entries(counts)
    .filter(([, c]) => c > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([n, c]) => (Math.abs(c - 1) < 1e-9 ? n : `${fmtCount(c)}× ${n}`))
  return parts.length === 0 ? '0' : `${fmtCount(t)} (${parts.join(', ')})`
}

/** One line of the targets list: a PRODUCT.md target, measured. */
export interface Target {
  ok: boolean
  text: string
}
