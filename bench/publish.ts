/**
 * The committed result: the full benchmark three times, one after the other, then their medians and ranges.
 *
 *   npm run bench:publish                    3 full runs into temp dirs, combined into bench/results (~30 min)
 *   npm run bench:publish -- --runs 5        more runs
 *   npm run bench:publish -- --smoke --out /tmp/pub    any other option goes to every bench/run.ts
 *
 * Each run is `node --import tsx bench/run.ts --out <temp dir>` with the options passed through; `--out` here
 * is where the combined `latest.json`, `latest.md` and `chart.svg` go (default bench/results). A run that
 * fails (a crashed server, a failed probe) stops it before anything is combined. See bench/README.md.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { combineDirs } from './lib/combine.js'
import { ROOT } from './lib/processes.js'

// Our two options are taken out by hand: everything else is bench/run.ts's to parse (and reject).
let out = join(ROOT, 'bench', 'results')
let runs = 3
const passed: string[] = []
const args = process.argv.slice(2)
for (let i = 0; i < args.length; i++) {
  const arg = args[i] as string
  const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s) : [arg, undefined]
  if (flag !== '--out' && flag !== '--runs') {
    passed.push(arg)
    continue
  }
  const value = inline ?? args[++i]
  if (value === undefined) throw new Error(`bench/publish.ts: ${flag} needs a value`)
  if (flag === '--out') out = value
  else runs = Number(value)
}
if (!Number.isInteger(runs) || runs < 2) {
  throw new Error(`bench/publish.ts: --runs must be an integer of at least 2, received ${runs}`)
}

const dirs: string[] = []
for (let run = 1; run <= runs; run++) {
  const dir = mkdtempSync(join(tmpdir(), `bench-run${run}-`))
  dirs.push(dir)
  console.log(`\n=== run ${run} of ${runs}: bench/run.ts ${[...passed, '--out', dir].join(' ')}\n`)
  // Sequential and in the foreground: two runs at once would measure each other.
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'run.ts'), ...passed, '--out', dir],
    { cwd: ROOT, stdio: 'inherit' },
  )
  if (child.status !== 0) {
    const how = child.signal ?? `exit code ${child.status}`
    throw new Error(`bench/publish.ts: run ${run} failed (${how}); nothing combined. Its results: ${dir}`)
  }
}
combineDirs(dirs, out)
console.log(
  `\nmedian of ${runs} runs: ${relative(process.cwd(), out) || '.'}/latest.{json,md}, chart.svg ` +
    `(the runs: ${dirs.join(', ')})`,
)
