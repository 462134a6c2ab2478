/**
 * Combines full runs into one committed result: the median of each cell, its range over the runs beside it.
 *
 *   npx tsx bench/combine.ts DIR1 DIR2 DIR3 [--out DIR]     (default --out: bench/results)
 *
 * Each DIR holds a `latest.json` of `bench/run.ts --out DIR`; `npm run bench:publish` makes them and calls
 * this. Writes `latest.json`, `latest.md` and `chart.svg` into the output directory. See bench/README.md.
 */
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import { combineDirs } from './lib/combine.js'
import { ROOT } from './lib/processes.js'

const { values, positionals } = parseArgs({ options: { out: { type: 'string' } }, allowPositionals: true })
if (positionals.length < 2) {
  throw new Error('usage: npx tsx bench/combine.ts DIR1 DIR2 [DIR3 ...] [--out DIR]; needs at least two runs')
}
const out = values.out ?? join(ROOT, 'bench', 'results')
const results = combineDirs(positionals, out)
const where = relative(process.cwd(), out) || '.'
console.log(`median of ${positionals.length} runs: ${where}/latest.{json,md}, chart.svg`)
if (results.problems.length > 0) {
  console.error(`${results.problems.length} problem(s) in the runs:\n- ${results.problems.join('\n- ')}`)
  process.exitCode = 1
}
