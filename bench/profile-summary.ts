/**
 * Summarises a V8 `.cpuprofile` (e.g. from `bench/run.ts --cpu-prof ours`, one per measured run): self and
 * inclusive time per function, and self time per package, so hot spots in our own code stand out. With the
 * request count (`--requests`, or the `.json` file run.ts writes beside each profile) times are per request.
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile> [--top 25] [--filter dist/] [--callers NAME] [--requests N]
 */
import { existsSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '25' },
    // The benchmark runs our built package (bench/servers/ours-app.ts).
    filter: { type: 'string', default: 'dist/' },
    callers: { type: 'string' },
    requests: { type: 'string' },
  },
})
const file = positionals[0]
if (file === undefined)
  throw new Error('usage: profile-summary.ts <file.cpuprofile> [--top N] [--filter STR]')
const top = Number(values.top)
const filter = values.filter as string

const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

// Time of each sample: the delta that follows it (V8 convention), in microseconds.
const selfUs = new Map<number, number>()
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i] as number
  const dt = profile.timeDeltas[i + 1] ?? 0
  selfUs.set(id, (selfUs.get(id) ?? 0) + dt)
}
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0)

const short = (url: string): string =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '')
    .replace(/^.*\/(src|dist|bench)\//, '$1/')
const key = (f: CallFrame): string =>
  `${f.functionName || '(anonymous)'}  ${short(f.url)}:${f.lineNumber + 1}`
const bucket = (f: CallFrame): string => {
  if (f.url === '') return f.functionName.startsWith('(') ? f.functionName : '(native)'
  if (f.url.startsWith('node:')) return 'node internals'
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.url)
  if (m) return m[1] as string
  if (/\/(src|dist)\//.test(f.url)) return 'ours (src/, dist/)'
  if (f.url.includes('/bench/')) return 'bench/'
  return f.url
}

const self = new Map<string, number>()
const inclusive = new Map<string, number>()
const packages = new Map<string, number>()
for (const [id, us] of selfUs) {
  const node = byId.get(id) as ProfileNode
  self.set(key(node.callFrame), (self.get(key(node.callFrame)) ?? 0) + us)
  packages.set(bucket(node.callFrame), (packages.get(bucket(node.callFrame)) ?? 0) + us)
  // Inclusive: every distinct function on the stack gets the sample once.
  const seen = new Set<string>()
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key((byId.get(cur) as ProfileNode).callFrame)
    if (seen.has(k)) continue
    seen.add(k)
    inclusive.set(k, (inclusive.get(k) ?? 0) + us)
  }
}

// bench/run.ts --cpu-prof writes the requests served during the profile next to it.
const sidecar = `${file}.json`
const requests =
  values.requests !== undefined
    ? Number(values.requests)
    : existsSync(sidecar)
      ? (JSON.parse(readFileSync(sidecar, 'utf8')) as { requests: number }).requests
      : undefined
const pct = (us: number): string =>
  `${((us / totalUs) * 100).toFixed(1).padStart(5)}%` +
  (requests === undefined ? '' : `  ${(us / requests).toFixed(1).padStart(7)} µs/req`)
const print = (title: string, map: Map<string, number>, only?: (k: string) => boolean): void => {
  console.log(`\n${title}`)
  const rows = [...map].filter(([k]) => only?.(k) ?? true).sort((a, b) => b[1] - a[1])
  for (const [k, us] of rows.slice(0, top))
    console.log(`${pct(us)}  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`)
}

console.log(`${file}: ${(totalUs / 1e6).toFixed(2)} s sampled`)
print('self time by package', packages)
print('self time by function', self)
print(`inclusive time, functions matching ${JSON.stringify(filter)}`, inclusive, (k) => k.includes(filter))

// Who calls a function: the stacks (innermost first, 6 frames) that end in it, by time.
if (values.callers !== undefined) {
  const stacks = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const frames: string[] = []
    let hit = false
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key((byId.get(cur) as ProfileNode).callFrame)
      if (!hit && k.startsWith(`${values.callers} `)) hit = true
      if (hit) frames.push(k)
      if (frames.length >= 6) break
    }
    if (hit) stacks.set(frames.join('\n      <- '), (stacks.get(frames.join('\n      <- ')) ?? 0) + us)
  }
  print(`stacks through ${values.callers}`, stacks)
}
