/**
 * Regenerates `latest.md` and `chart.svg` from `latest.json` (and `soak.json`) without measuring anything.
 *
 *   npx tsx bench/report.ts [dir]     (default: bench/results)
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './lib/processes.js'
import { writeReport } from './lib/report.js'
import type { Results } from './lib/results.js'

const dir = process.argv[2] ?? join(ROOT, 'bench', 'results')
const results = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as Results
// Version 1 predates the Redis cost figures the report now renders: those need a new run, not a re-render.
if (results.version !== 2) {
  throw new Error(`${join(dir, 'latest.json')} is version ${results.version}; run the benchmark again`)
}
writeReport(dir, results)
console.log(`wrote ${join(dir, 'latest.md')} and ${join(dir, 'chart.svg')}`)
