/** The report's section on the session cache: ours with `cache: true` against the hand-written handler and ours. */
import { commandCell, fmt, int, ranged, rangeOf, type Target, table } from './markdown.js'
import type { Results } from './results.js'
import { SCENARIO_LABELS } from './scenarios.js'

/** PRODUCT.md section 10 (issue 13): a cached unchanged read at least this multiple of the hand-written read. */
const CACHED_READ_TARGET = 1.3

/** The section, or nothing when `ours-cache` was not run. */
export function renderCache(r: Results): string[] {
  if (!r.variants.includes('ours-cache')) return []
  const rows = r.scenarios.map((sc) => {
    const cache = r.summary[sc]?.['ours-cache']
    const ours = r.summary[sc]?.ours
    const hand = r.summary[sc]?.handwritten
    return [
      SCENARIO_LABELS[sc],
      int(cache?.rps),
      ranged(cache?.ratioHandwritten, rangeOf(r, 'summary', sc, 'ours-cache', 'ratioHandwritten')),
      cache && ours ? fmt(cache.rps / ours.rps) : 'n/a',
      commandCell(r.commands[sc]?.['ours-cache']?.sent),
      commandCell(r.commands[sc]?.handwritten?.sent),
      `${fmt(cache?.redisCpuUsPerReq, 1)} / ${fmt(hand?.redisCpuUsPerReq, 1)}`,
      `${fmt(r.commands[sc]?.['ours-cache']?.redisCpu.totalUs, 1)} / ${fmt(r.commands[sc]?.handwritten?.redisCpu.totalUs, 1)}`,
    ]
  })
  return [
    '## Session cache (ours with `cache: true`)',
    '',
    'The same app with `new RedisStore({ port, cache: true })`: an unchanged read is served in process while ' +
      'Redis tracks the key (CLIENT TRACKING OPTIN), a miss is one plain `HGETALL` (with a `PTTL` when the key ' +
      'held a session at its last read here, then a tracked read in the background that fills the cache), and ' +
      'a write drops the entry: a session written on every request is never tracked, and its reads cost what ' +
      'they cost without the cache. "× ours" is the ratio of the medians. Redis CPU per request ' +
      'is µs, cached / hand-written (the hand-written handler sends one `GET` per read).',
    '',
    table(
      [
        'scenario',
        'req/s',
        '× hand-written',
        '× ours',
        'commands sent / req',
        'hand-written',
        'Redis CPU under load',
        'Redis CPU sequential',
      ],
      rows,
      [':--', '--:', '--:', '--:', ':--', ':--', '--:', '--:'],
    ),
    '',
  ]
}

/** The cache's target: a cached unchanged read at least 1.3× the hand-written handler's read throughput. */
export function cacheTargets(r: Results): Target[] {
  const read = r.summary.read?.['ours-cache']
  if (read === undefined || !Number.isFinite(read.ratioHandwritten)) return []
  return [
    {
      ok: read.ratioHandwritten >= CACHED_READ_TARGET,
      text: `with \`cache: true\`, an unchanged read ≥ ${CACHED_READ_TARGET}× hand-written: ${fmt(read.ratioHandwritten)}×`,
    },
  ]
}
