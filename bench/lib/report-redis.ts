/** The report's Redis-tier sections: what each request costs the Redis server, and the Cluster slot spread. */
import { fmt, int, name, ranged, rangeOf, type Target, table, total } from './markdown.js'
import type { CommandCounts } from './redis-stats.js'
import type { Results, Summary } from './results.js'
import { SCENARIO_LABELS, type Scenario, type Variant } from './scenarios.js'

/** PRODUCT.md section 8: ours's Redis CPU per request at most these multiples of koa-session + koa-redis's. */
const REDIS_CPU_LIMITS: readonly (readonly [Scenario, number, string])[] = [
  ['read', 1.1, 'an unchanged read'],
  ['rolling', 1.1, 'an unchanged read with `rolling`'],
  ['increment', 1.3, 'a write (views++)'],
  ['2kb', 1.3, 'a write of a ~2 KB session'],
  ['new', 1.3, 'a new session (a write)'],
]

const seqCpu = (r: Results, sc: Scenario, v: Variant): number | undefined =>
  r.commands[sc]?.[v]?.redisCpu.totalUs
const seqRatio = (r: Results, sc: Scenario, v: Variant): number | undefined => {
  // A combined result carries the median of the per-run ratios, as the ratios under load are taken.
  const combined = r.commands[sc]?.[v]?.redisCpuRatioKoaSession
  if (combined !== undefined) return combined
  const mine = seqCpu(r, sc, v)
  const base = seqCpu(r, sc, 'koa-session')
  return mine === undefined || base === undefined || !(base > 0) ? undefined : mine / base
}

/** `in this run`, or `in these 3 runs` (a combined result: measurements of every run, medians of figures). */
const inRuns = (r: Results): string =>
  r.combined === undefined ? 'in this run' : `in these ${r.combined.runs.length} runs`
const f1 = (x: number | undefined | null): string => fmt(x, 1)
// With its range over the runs when combined: a summary (under load) or a sequential (commands) figure.
const load = (r: Results, sc: Scenario, v: Variant, key: keyof Summary, format = fmt): string =>
  ranged(r.summary[sc]?.[v]?.[key], rangeOf(r, 'summary', sc, v, key), format)
const seq = (r: Results, sc: Scenario, v: Variant, path: string, value: number | undefined, format = fmt) =>
  ranged(value, rangeOf(r, 'commands', sc, v, path), format)

function grid(r: Results, cell: (sc: Scenario, v: Variant) => string): string {
  return table(
    ['variant', ...r.scenarios.map((sc) => SCENARIO_LABELS[sc])],
    r.variants.map((v) => [name(v), ...r.scenarios.map((sc) => cell(sc, v))]),
  )
}

/**
 * The headline: Redis CPU per request relative to koa-session + koa-redis, under load and sequential.
 * Also printed on the console at the end of a run.
 *
 * @example
 * console.log(renderRedisRatios(results).join('\n'))
 */
export function renderRedisRatios(r: Results, heading = '##'): string[] {
  return [
    `${heading} Redis CPU per request relative to koa-session + koa-redis (= 1.00)`,
    '',
    'Under load (median of the per-round ratios):',
    '',
    grid(r, (sc, v) => load(r, sc, v, 'redisCpuRatioKoaSession')),
    '',
    `Sequential (${r.settings.commandRequests} requests one at a time):`,
    '',
    grid(r, (sc, v) => seq(r, sc, v, 'redisCpuRatioKoaSession', seqRatio(r, sc, v))),
    '',
  ]
}

/** The Redis cost section: the ratios, then redis-server CPU, req/s per Redis core and commandstats time. */
export function renderRedisCost(r: Results): string[] {
  const sent = (sc: Scenario, v: Variant): number | undefined => total(r.commands[sc]?.[v]?.sent)
  return [
    '## Redis cost per request',
    '',
    'Redis is the tier every app server shares. **redis-server CPU** is its on-CPU time from ' +
      '`/proc/<pid>/task/*/schedstat` (ns resolution), summed over all its threads (the process total; ' +
      `the main thread, which executes commands, was ${mainShare(r)} of it ${inRuns(r)}), read before and ` +
      'after each run and divided by the requests served. **Under load**: the timed autocannon runs above ' +
      `(median over rounds${r.combined === undefined ? '' : ', then over runs'}); ` +
      'a busy Redis serves many connections per event-loop turn. **Sequential**: ' +
      `${r.settings.commandRequests} requests one at a time without MONITOR, next to the command counts, ` +
      `in ${r.settings.costChunks} chunks that take turns across the variants, of which the median is kept; each request finds Redis idle and ` +
      'pays a whole wake-up, so the figures are larger but do not depend on the throughput reached.',
    '',
    idleNote(r),
    '',
    ...renderRedisRatios(r, '###'),
    '### redis-server CPU, µs per request, under load',
    '',
    grid(r, (sc, v) => load(r, sc, v, 'redisCpuUsPerReq', f1)),
    '',
    '### Requests per second one Redis core carries (1e6 / CPU µs per request under load)',
    '',
    '`-`: the variant sends Redis nothing on that scenario.',
    '',
    grid(r, (sc, v) => (sent(sc, v) === 0 ? '-' : load(r, sc, v, 'redisRpsPerCore', int))),
    '',
    '### redis-server CPU, µs per request, sequential',
    '',
    grid(r, (sc, v) => seq(r, sc, v, 'redisCpu.totalUs', seqCpu(r, sc, v), f1)),
    '',
    '### Redis command time (INFO commandstats), µs per request, sequential',
    '',
    '`usec` of the commands the application sent, over the same sequential requests (per command, the ' +
      'median over the chunks). A script’s time already includes the commands it runs, so those are not ' +
      'added again. This is time inside command execution only; the CPU figures add reading, parsing and ' +
      'replying.',
    '',
    grid(r, (sc, v) => usecCell(r.commands[sc]?.[v]?.sentUsec)),
    '',
  ]
}

function usecCell(usec: CommandCounts | undefined): string {
  if (usec === undefined) return 'n/a'
  const parts = Object.entries(usec)
    .filter(([, us]) => us > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([n, us]) => `${n} ${fmt(us, 1)}`)
  return parts.length === 0 ? '0' : `${fmt(total(usec), 1)} (${parts.join(', ')})`
}

/** How much of the figures is Redis's own background work (timers), which no variant causes. */
function idleNote(r: Results): string {
  const perRequest = r.scenarios.flatMap((sc) =>
    r.variants.flatMap((v) => {
      const c = r.commands[sc]?.[v]
      return c === undefined ? [] : [(r.redisIdleUsPerS * c.durationMs) / 1000 / c.n]
    }),
  )
  const finite = perRequest.filter(Number.isFinite)
  return (
    `An idle redis-server used ${fmt(r.redisIdleUsPerS, 0)} µs of CPU per second` +
    `${r.combined === undefined ? ' in this run (its timers)' : ' (its timers; the median over the runs)'}; ` +
    'every figure includes that background, which is negligible under load' +
    (finite.length === 0
      ? '.'
      : ` and ${fmt(Math.min(...finite), 1)} to ${fmt(Math.max(...finite), 1)} µs per sequential request.`)
  )
}

/** The main thread's share of redis-server's CPU over every timed run, e.g. `99.8%`. */
function mainShare(r: Results): string {
  let main = 0
  let all = 0
  for (const m of r.measurements) {
    if (!Number.isFinite(m.redisCpuUsPerReq) || !Number.isFinite(m.redisMainCpuUsPerReq)) continue
    main += m.redisMainCpuUsPerReq * m.requests
    all += m.redisCpuUsPerReq * m.requests
  }
  return all > 0 ? `${((100 * main) / all).toFixed(1)}%` : 'n/a'
}

/** The Cluster slot spread section; empty when it was not measured. */
export function renderClusterSpread(r: Results): string[] {
  const c = r.cluster
  if (c === undefined) return []
  const rows = r.variants.flatMap((v) => {
    const f = c.variants[v]
    if (f === undefined) return []
    return [
      [
        name(v),
        int(f.sessions),
        int(f.keys),
        int(f.slots),
        f.keysPerMaster.map(int).join(' / '),
        f.maxMinRatio === null ? 'a master holds none' : fmt(f.maxMinRatio),
      ],
    ]
  })
  return [
    '## Cluster slot spread',
    '',
    `Sessions created through each variant’s own server pointed at a Cluster of ${c.masters.length} masters ` +
      '(no replicas) started for the run; every key on each master counted (`KEYS *`) and its hash slot ' +
      'asked with `CLUSTER KEYSLOT`. A Cluster has 16,384 slots; keys confined to few slots cannot be ' +
      'spread evenly when masters are added.',
    '',
    table(['variant', 'sessions', 'keys', 'distinct slots', 'keys per master', 'max / min master'], rows, [
      ':--',
      '--:',
      '--:',
      '--:',
      '--:',
      '--:',
    ]),
    '',
  ]
}

/** The Redis CPU targets of PRODUCT.md section 8, judged under load and sequentially. */
export function redisTargets(r: Results): Target[] {
  const out: Target[] = []
  for (const [sc, limit, what] of REDIS_CPU_LIMITS) {
    const load = r.summary[sc]?.ours?.redisCpuRatioKoaSession
    const seq = seqRatio(r, sc, 'ours')
    for (const [how, value] of [
      ['under load', load],
      ['sequential', seq],
    ] as const) {
      if (value === undefined || !Number.isFinite(value)) continue
      out.push({
        ok: value <= limit,
        text: `Redis CPU per request ≤ ${limit}× koa-session + koa-redis on ${what}, ${how}: ${fmt(value)}×`,
      })
    }
  }
  return out
}
