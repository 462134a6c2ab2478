/** Folds several full runs into one result: the median of each figure per cell, and its range over the runs. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeReport } from './report.js'
import type { CellRanges, CommandFigure, Range, Results, Summary } from './results.js'
import type { Scenario, Variant } from './scenarios.js'
import { median } from './stats.js'

/** One run to combine: its `latest.json` and the directory it was read from. */
export interface RunResults {
  dir: string
  results: Results
}

/**
 * Reads `latest.json` from each of `dirs`, combines them ({@link combineResults}) and writes the combined
 * `latest.json`, `latest.md` and `chart.svg` into `out`.
 *
 * @example
 * combineDirs(['/tmp/run1', '/tmp/run2', '/tmp/run3'], 'bench/results')
 */
export function combineDirs(dirs: readonly string[], out: string): Results {
  const results = combineResults(
    dirs.map((dir) => ({
      dir,
      results: JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as Results,
    })),
  )
  mkdirSync(out, { recursive: true })
  writeFileSync(join(out, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`)
  writeReport(out, results)
  return results
}

/**
 * Combines runs of the same benchmark: `summary` and the Redis cost figures of `commands` become the median
 * over the runs, each with its range in `combined`; command counts (which must agree), bytes and the Cluster
 * spread (which vary by a few bytes or keys with the random ids, not with timing) come from the first run; measurements and problems of every run are kept, tagged
 * with the run. Throws when the runs are not comparable (other variants, settings or machine) or disagree on
 * the commands a request sends.
 *
 * @example
 * const results = combineResults(dirs.map((dir) => ({ dir, results: readResults(dir) })))
 */
export function combineResults(runs: readonly RunResults[]): Results {
  const first = runs[0]?.results
  if (first === undefined || runs.length < 2) throw new Error('combine: needs at least two runs')
  for (const { dir, results } of runs) {
    if (results.version !== 2) throw new Error(`combine: ${dir} is version ${results.version}, not 2`)
    if (results.combined !== undefined)
      throw new Error(`combine: ${dir} is itself combined; give single runs`)
    // Runs of other settings or on another machine would make the range measure the difference, not noise.
    for (const key of ['variants', 'scenarios', 'settings', 'machine'] as const) {
      if (JSON.stringify(results[key]) !== JSON.stringify(first[key])) {
        throw new Error(
          `combine: ${dir} differs from ${runs[0]?.dir} in \`${key}\`; combine runs of one setup`,
        )
      }
    }
  }
  const all = runs.map((run) => run.results)
  const summaryRanges: CellRanges = {}
  const commandRanges: CellRanges = {}
  const summary: Results['summary'] = {}
  const commands: Results['commands'] = {}
  for (const sc of first.scenarios) {
    const summaryRow: Partial<Record<Variant, Summary>> = {}
    const commandRow: Partial<Record<Variant, CommandFigure>> = {}
    for (const v of first.variants) {
      const cells = all.flatMap((r) => r.summary[sc]?.[v] ?? [])
      if (cells.length > 0) {
        const ranges = cellRanges(summaryRanges, sc, v)
        summaryRow[v] = medians(cells, '', ranges) as Summary
      }
      const figures = runs.flatMap(({ dir, results }) => {
        const f = results.commands[sc]?.[v]
        return f === undefined ? [] : [{ dir, f, ratio: seqRatio(results, sc, v) }]
      })
      const base = figures[0]
      if (base === undefined) continue
      // Counts are deterministic: runs that disagree measured different code, and no median can mend that.
      for (const { dir, f } of figures) {
        for (const key of ['sent', 'executed', 'insideScripts'] as const) {
          if (sameCounts(f[key], base.f[key])) continue
          throw new Error(
            `combine: runs disagree on the commands per request (\`${key}\`), ${sc} ${v}: ` +
              `${JSON.stringify(base.f[key])} in ${base.dir}, ${JSON.stringify(f[key])} in ${dir}`,
          )
        }
      }
      const cost = medians(
        figures.map(({ f, ratio }) => ({
          redisCpu: f.redisCpu,
          durationMs: f.durationMs,
          usec: f.usec,
          sentUsec: f.sentUsec,
          redisTimeUs: f.redisTimeUs,
          redisCpuRatioKoaSession: ratio,
        })),
        '',
        cellRanges(commandRanges, sc, v),
      ) as Pick<CommandFigure, 'redisCpu' | 'durationMs' | 'usec' | 'sentUsec' | 'redisTimeUs'>
      commandRow[v] = { ...base.f, ...cost }
    }
    summary[sc] = summaryRow
    commands[sc] = commandRow
  }
  const last = all[all.length - 1] as Results
  return {
    ...first,
    createdAt: last.createdAt,
    measurements: all.flatMap((r, i) => r.measurements.map((m) => ({ run: i + 1, ...m }))),
    summary,
    commands,
    redisIdleUsPerS: median(all.map((r) => r.redisIdleUsPerS).filter(isFiniteNumber)),
    problems: all.flatMap((r, i) => r.problems.map((p) => `run ${i + 1}: ${p}`)),
    loadAverage: { start: first.loadAverage.start, end: last.loadAverage.end },
    wallClockS: all.reduce((a, r) => a + r.wallClockS, 0),
    combined: {
      runs: runs.map(({ dir, results: r }) => ({
        dir,
        createdAt: r.createdAt,
        wallClockS: r.wallClockS,
        loadAverage: r.loadAverage,
        problems: r.problems.length,
      })),
      summary: summaryRanges,
      commands: commandRanges,
    },
  }
}

// JSON has no NaN: a figure that was not measured (no /proc) is read back as null.
const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x)

/** Sequential redis-server CPU per request relative to koa-session + koa-redis's, in one run. */
function seqRatio(r: Results, sc: Scenario, v: Variant): number {
  const mine = r.commands[sc]?.[v]?.redisCpu.totalUs
  const base = r.commands[sc]?.['koa-session']?.redisCpu.totalUs
  return isFiniteNumber(mine) && isFiniteNumber(base) && base > 0 ? mine / base : Number.NaN
}

function cellRanges(all: CellRanges, sc: Scenario, v: Variant): Record<string, Range> {
  const row = all[sc] ?? {}
  all[sc] = row
  const ranges = row[v] ?? {}
  row[v] = ranges
  return ranges
}

function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  return [...keys].every((k) => Math.abs((a[k] ?? 0) - (b[k] ?? 0)) < 1e-9)
}

/**
 * The median of every numeric leaf over values of one shape (numbers, or objects of them, nested), with
 * each leaf's range recorded under its dotted path. Non-finite values are left out; none finite gives NaN.
 */
function medians(values: readonly unknown[], path: string, ranges: Record<string, Range>): unknown {
  if (values.every((x) => typeof x === 'number' || x === null)) {
    const finite = values.filter(isFiniteNumber)
    if (finite.length === 0) return Number.NaN
    ranges[path] = { min: Math.min(...finite), max: Math.max(...finite) }
    return median(finite)
  }
  if (values.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x))) {
    const objects = values as Record<string, unknown>[]
    const keys = [...new Set(objects.flatMap((o) => Object.keys(o)))]
    return Object.fromEntries(
      keys.map((k) => [
        k,
        medians(
          objects.flatMap((o) => (o[k] === undefined ? [] : [o[k]])),
          path === '' ? k : `${path}.${k}`,
          ranges,
        ),
      ]),
    )
  }
  throw new Error(`combine: \`${path}\` holds something other than numbers; cannot take its median`)
}
