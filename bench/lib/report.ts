/** Turns measured results into `latest.md` (tables) and `chart.svg`. Every figure comes from the JSON. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { renderChart } from './chart.js'
import {
  commandCell,
  fmt,
  fmtCount,
  int,
  name,
  PEERS,
  ranged,
  rangeOf,
  type Target,
  table,
  total,
} from './markdown.js'
import { cacheTargets, renderCache } from './report-cache.js'
import { renderHeader } from './report-header.js'
import { redisTargets, renderClusterSpread, renderRedisCost } from './report-redis.js'
import type { Results, SoakResults, Summary } from './results.js'
import { SCENARIO_LABELS, type Scenario, type Variant } from './scenarios.js'

/** Writes `latest.md` and `chart.svg` into `dir` (adding `soak.json` from `dir` when present). */
export function writeReport(dir: string, results: Results): void {
  const soakFile = join(dir, 'soak.json')
  const soak = existsSync(soakFile) ? (JSON.parse(readFileSync(soakFile, 'utf8')) as SoakResults) : undefined
  writeFileSync(join(dir, 'latest.md'), renderMarkdown(results, soak))
  writeFileSync(join(dir, 'chart.svg'), renderChart(results))
}

/** The markdown report. */
export function renderMarkdown(r: Results, soak: SoakResults | undefined): string {
  const out: string[] = [...renderHeader(r)]
  const s = r.settings

  const scenarios = r.scenarios
  const variants = r.variants
  const cell = (sc: Scenario, v: Variant): Summary | undefined => r.summary[sc]?.[v]
  // A summary figure, with its range over the runs when the result is combined.
  const fig = (sc: Scenario, v: Variant, key: keyof Summary, format = fmt): string =>
    ranged(cell(sc, v)?.[key], rangeOf(r, 'summary', sc, v, key), format)
  const f1 = (x: number | undefined | null): string => fmt(x, 1)
  const f0 = (x: number | undefined | null): string => fmt(x, 0)

  out.push('## Throughput relative to the hand-written handler (= 1.00)', '')
  out.push(
    table(
      ['variant', ...scenarios.map((sc) => SCENARIO_LABELS[sc])],
      variants.map((v) => [name(v), ...scenarios.map((sc) => fig(sc, v, 'ratioHandwritten'))]),
    ),
    '',
    '![ratio to hand-written per scenario](chart.svg)',
    '',
  )
  out.push('## Throughput relative to koa-session + koa-redis (= 1.00)', '')
  out.push(
    table(
      ['variant', ...scenarios.map((sc) => SCENARIO_LABELS[sc])],
      variants.map((v) => [name(v), ...scenarios.map((sc) => fig(sc, v, 'ratioKoaSession'))]),
    ),
    '',
  )

  out.push('## Per scenario', '')
  out.push(
    (r.combined === undefined
      ? 'Medians over the rounds. '
      : `Medians over the rounds of each run, then over the ${r.combined.runs.length} runs; failed responses summed over every run. `) +
      'CPU is the server process’s user + system time (`process.cpuUsage()` in the ' +
      'server, delta around the run) divided by the requests it served; Redis CPU is redis-server’s, over ' +
      'the same run (see "Redis cost per request"). Ratios are the median of the per-round ratios (each ' +
      'round runs the variants back to back).',
    '',
  )
  for (const sc of scenarios) {
    out.push(`### ${SCENARIO_LABELS[sc]} (\`/${sc}\`)`, '')
    out.push(
      table(
        [
          'variant',
          'req/s',
          'p99 ms',
          'CPU µs/req',
          'Redis CPU µs/req',
          '× hand-written',
          '× koa-session',
          'failed responses',
        ],
        variants.map((v) => {
          const failed = r.measurements
            .filter((x) => x.scenario === sc && x.variant === v)
            .reduce((a, x) => a + x.errors + x.timeouts + x.non2xx, 0)
          const served = r.measurements
            .filter((x) => x.scenario === sc && x.variant === v)
            .reduce((a, x) => a + x.requests, 0)
          return [
            name(v),
            fig(sc, v, 'rps', int),
            fig(sc, v, 'p99Ms', f1),
            fig(sc, v, 'cpuUsPerReq', f0),
            fig(sc, v, 'redisCpuUsPerReq', f1),
            fig(sc, v, 'ratioHandwritten'),
            fig(sc, v, 'ratioKoaSession'),
            failed === 0 ? '0' : `${failed} of ${served}`,
          ]
        }),
      ),
      '',
    )
  }

  out.push('## Redis commands per request', '')
  out.push(
    `Sent by the application (MONITOR, client connections), per request, over ${s.commandRequests} ` +
      'sequential requests after `CONFIG RESETSTAT`' +
      (r.combined === undefined ? ':' : ' (the same in every run: `bench/combine.ts` checks it):'),
    '',
  )
  out.push(
    table(
      ['variant', ...scenarios.map((sc) => SCENARIO_LABELS[sc])],
      variants.map((v) => [name(v), ...scenarios.map((sc) => commandCell(r.commands[sc]?.[v]?.sent))]),
      [':--', ...scenarios.map(() => ':--')],
    ),
    '',
  )
  out.push('Executed by Redis (INFO commandstats: the commands sent plus those run inside Lua scripts):', '')
  out.push(
    table(
      ['variant', ...scenarios.map((sc) => SCENARIO_LABELS[sc])],
      variants.map((v) => [name(v), ...scenarios.map((sc) => commandCell(r.commands[sc]?.[v]?.executed))]),
      [':--', ...scenarios.map(() => ':--')],
    ),
    '',
  )

  out.push(...renderRedisCost(r))

  out.push('## Bytes per session in Redis', '')
  out.push(
    '`MEMORY USAGE <key> SAMPLES 0` summed over every key one session occupies, right after the session was ' +
      'created through the variant itself (so each library’s own metadata is included).',
    '',
  )
  const ours = r.bytes.ours
  out.push(
    table(
      ['variant', '`{ views: 1 }`', 'vs ours', '~2 KB session', 'vs ours', 'keys (type)'],
      variants
        .filter((v) => r.bytes[v] !== undefined)
        .map((v) => {
          const b = r.bytes[v] as NonNullable<Results['bytes'][Variant]>
          return [
            name(v),
            int(b.small.bytes),
            ours ? fmt(b.small.bytes / ours.small.bytes) : 'n/a',
            int(b.large.bytes),
            ours ? fmt(b.large.bytes / ours.large.bytes) : 'n/a',
            b.small.keys.map((k) => `${k.type}`).join(', ') || '-',
          ]
        }),
      [':--', '--:', '--:', '--:', '--:', ':--'],
    ),
    '',
  )

  out.push(...renderClusterSpread(r))
  out.push(...renderCache(r))

  out.push('## Targets (PRODUCT.md section 8), ours', '')
  out.push(
    ...[...targets(r), ...redisTargets(r), ...cacheTargets(r)].map(
      (t) => `- ${t.ok ? 'PASS' : 'MISS'}: ${t.text}`,
    ),
    '',
  )

  if (soak !== undefined) out.push(...renderSoak(soak), '')

  if (r.problems.length > 0) {
    out.push('## Problems during the run', '', ...r.problems.map((p) => `- ${p}`), '')
  }
  return `${out.join('\n').trimEnd()}\n`
}

function targets(r: Results): Target[] {
  const out: Target[] = []
  const sent = (sc: Scenario, v: Variant): number | undefined => total(r.commands[sc]?.[v]?.sent)
  const limits: [Scenario, number, string][] = [
    ['not-read', 0, 'a request that never reads the session costs 0 commands'],
    ['read', 1, 'an unchanged read costs 1 command'],
    ['rolling', 1, 'an unchanged read with `rolling` costs 1 command'],
    ['increment', 2, 'a changed session costs at most 2 commands (load + write)'],
    ['2kb', 2, 'a changed ~2 KB session costs at most 2 commands'],
    ['new', 1, 'a new populated session costs 1 command'],
  ]
  for (const [sc, limit, text] of limits) {
    const v = sent(sc, 'ours')
    if (v === undefined) continue
    const peers = PEERS.map((p) => sent(sc, p)).filter((x): x is number => x !== undefined)
    const best = Math.min(...peers)
    out.push({ ok: v <= limit + 1e-9, text: `${text}: measured ${fmtCount(v)}` })
    if (peers.length > 0) {
      out.push({
        ok: v <= best + 1e-9,
        text: `no peer sends fewer commands on "${SCENARIO_LABELS[sc]}": ours ${fmtCount(v)}, best peer ${fmtCount(best)}`,
      })
    }
  }
  for (const sc of r.scenarios) {
    const c = r.summary[sc]?.ours
    if (c === undefined) continue
    if (Number.isFinite(c.ratioHandwritten)) {
      out.push({
        ok: c.ratioHandwritten >= 0.9,
        text: `throughput ≥ 0.9× hand-written on "${SCENARIO_LABELS[sc]}": ${fmt(c.ratioHandwritten)}×`,
      })
    }
    if (Number.isFinite(c.ratioKoaSession)) {
      out.push({
        ok: c.ratioKoaSession >= 1.5,
        text: `throughput ≥ 1.5× koa-session + koa-redis on "${SCENARIO_LABELS[sc]}": ${fmt(c.ratioKoaSession)}×`,
      })
    }
    const peerBest = Math.max(...PEERS.map((p) => r.summary[sc]?.[p]?.rps ?? 0))
    if (peerBest > 0) {
      out.push({
        ok: c.rps > peerBest,
        text: `ahead of every peer on "${SCENARIO_LABELS[sc]}": ours ${int(c.rps)} req/s, best peer ${int(peerBest)} req/s`,
      })
    }
  }
  const ours = r.bytes.ours
  if (ours !== undefined) {
    for (const size of ['small', 'large'] as const) {
      const peers = PEERS.map((p) => r.bytes[p]?.[size].bytes).filter((x): x is number => x !== undefined)
      if (peers.length === 0) continue
      const smallest = Math.min(...peers)
      out.push({
        ok: ours[size].bytes <= smallest,
        text: `bytes per ${size === 'small' ? '`{ views: 1 }`' : '~2 KB'} session no more than the smallest peer: ours ${ours[size].bytes}, smallest peer ${smallest}`,
      })
    }
  }
  return out
}

function renderSoak(soak: SoakResults): string[] {
  const first = soak.samples[0]
  const last = soak.samples[soak.samples.length - 1]
  const mib = (b: number | undefined): string => (b === undefined ? 'n/a' : (b / 2 ** 20).toFixed(1))
  const kib = (b: number): string => (Number.isFinite(b) ? `${(b / 1024).toFixed(0)} KiB` : 'n/a')
  return [
    '## Memory soak (ours)',
    '',
    `\`bench/soak.ts\` on ${soak.createdAt}: ${int(soak.requests)} requests (${soak.connections} connections, ` +
      `mix ${soak.mix.join(' / ')}) in ${fmt(soak.durationS, 0)} s (${int(soak.rps)} req/s), ` +
      `${soak.errors} errors, ${soak.non2xx} non-2xx. ${soak.samples.length} samples` +
      `${soak.gc ? ' taken after a forced GC' : ''}; slopes are least-squares fits over the samples after ` +
      `${int(soak.slope.fromServed)} requests (warm-up excluded).`,
    '',
    table(
      ['', 'first sample', 'last sample', 'slope, bytes / 1000 requests', 'r²', 'fitted growth over the run'],
      [
        [
          'RSS (MiB)',
          mib(first?.rss),
          mib(last?.rss),
          fmt(soak.slope.rssBytesPer1000, 1),
          fmt(soak.slope.rssR2),
          kib(soak.slope.rssBytesPer1000 * (soak.requests / 1000)),
        ],
        [
          'heap used after GC (MiB)',
          mib(first?.heapUsed),
          mib(last?.heapUsed),
          fmt(soak.slope.heapBytesPer1000, 1),
          fmt(soak.slope.heapR2),
          kib(soak.slope.heapBytesPer1000 * (soak.requests / 1000)),
        ],
      ],
    ),
  ]
}
