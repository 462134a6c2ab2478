/**
 * The benchmark: every variant side by side in one run, on a private redis-server.
 *
 *   npm run bench          full run (4 interleaved rounds of 2 s per cell, ~10 min), writes bench/results/
 *   npm run bench:smoke    the same code on a few hundred requests per run, writes to a temp dir (CI)
 *
 * Options: --rounds N --duration S --warmup S --amount N --warmup-amount N --connections N --commands N
 *          --cluster-sessions N (0: no Cluster) --variants a,b --scenarios a,b --out DIR
 *          --cpu-prof a,b (profile those servers during each measured run) --smoke
 * See bench/README.md.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { freePort, type RedisServer, startRedis } from '../test/redis-servers.js'
import { measureClusterSpread } from './lib/cluster-spread.js'
import { createSession, createSessions, get, probe } from './lib/http.js'
import { machineInfo } from './lib/machine.js'
import { CAN_PIN, pin, ROOT, ServerProcess } from './lib/processes.js'
import {
  type CostSample,
  cpuPerRequest,
  idleCpuRate,
  measureRedisCost,
  readCpuTime,
  summarizeCost,
} from './lib/redis-cost.js'
import { countCommands, flushAll, keyMemory, perRequest } from './lib/redis-stats.js'
import { renderMarkdown, writeReport } from './lib/report.js'
import { renderRedisRatios } from './lib/report-redis.js'
import type { BytesFigure, CommandFigure, Measurement, Results, Settings } from './lib/results.js'
import { needsSession, SCENARIOS, type Scenario, VARIANTS, type Variant } from './lib/scenarios.js'
import { summarize } from './lib/summary.js'

const { values: argv } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    amount: { type: 'string' },
    'warmup-amount': { type: 'string' },
    connections: { type: 'string' },
    commands: { type: 'string' },
    'cluster-sessions': { type: 'string' },
    variants: { type: 'string' },
    scenarios: { type: 'string' },
    out: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
})

const smoke = argv.smoke === true
const num = (value: string | undefined, fallback: number | undefined): number | undefined =>
  value === undefined ? fallback : Number(value)
const amount = num(argv.amount, smoke ? 100 : undefined)
const settings: Settings = {
  // Where the results go changes nothing measured: `--out` alone is still a full run (bench:publish uses it).
  mode: smoke ? 'smoke' : Object.keys(argv).some((k) => k !== 'smoke' && k !== 'out') ? 'custom' : 'full',
  rounds: num(argv.rounds, smoke ? 1 : 4) as number,
  durationS: amount === undefined ? num(argv.duration, 2) : undefined,
  amount,
  warmupS: amount === undefined ? num(argv.warmup, 0.5) : undefined,
  warmupAmount: amount === undefined ? undefined : num(argv['warmup-amount'], 20),
  connections: num(argv.connections, smoke ? 5 : 50) as number,
  commandRequests: num(argv.commands, smoke ? 20 : 2000) as number,
  // commandstats time is wall-clock: chunks with a median keep one preempted command from swelling it.
  costChunks: smoke ? 2 : 10,
  // Kept in smoke (a Cluster starts in about 2 s) so CI runs the code path, on fewer sessions.
  clusterSessions: num(argv['cluster-sessions'], smoke ? 100 : 1000) as number,
  pinned: CAN_PIN,
  serverCpu: '0',
  loadCpu: '1',
  // Redis shares the load generator's core, so the server's core runs nothing but the server.
  redisCpu: '1',
}
const variants = pick(argv.variants, VARIANTS, 'variant')
const scenarios = pick(argv.scenarios, SCENARIOS, 'scenario')
const outDir =
  argv.out ?? (smoke ? mkdtempSync(join(tmpdir(), 'bench-smoke-')) : join(ROOT, 'bench', 'results'))
const profiled = argv['cpu-prof'] === undefined ? [] : pick(argv['cpu-prof'], VARIANTS, 'variant')

function pick<T extends string>(list: string | undefined, all: readonly T[], what: string): T[] {
  if (list === undefined) return [...all]
  const chosen = list.split(',').map((s) => s.trim()) as T[]
  for (const c of chosen)
    if (!all.includes(c)) throw new Error(`unknown ${what} ${c}; known: ${all.join(', ')}`)
  // Always in canonical order, so tables line up between runs.
  return all.filter((a) => chosen.includes(a))
}

const started = Date.now()
const loadStart = loadavg()
const problems: string[] = []
const log = (line: string): void =>
  console.log(`${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s  ${line}`)

// ---------------------------------------------------------------------------------------------------------

if (pin(process.pid, settings.loadCpu)) log(`load generator pinned to CPU ${settings.loadCpu}`)
else log('taskset unavailable or a single core: nothing is pinned (figures are noisier)')

const redis = await startRedis()
pin(redis.pid, settings.redisCpu)
log(`redis-server on port ${redis.port} (pid ${redis.pid})`)

const servers = new Map<Variant, ServerProcess>()
try {
  const ports = new Map<Variant, number>()
  for (const variant of variants) ports.set(variant, await freePort())
  const startups = await Promise.allSettled(
    variants.map(async (variant) => {
      const server = await ServerProcess.start(variant, {
        port: ports.get(variant) as number,
        redisPort: redis.port,
        cpu: settings.serverCpu,
      })
      servers.set(variant, server)
      log(`started ${variant} on ${server.url} (pid ${server.pid})`)
    }),
  )
  for (const s of startups) if (s.status === 'rejected') throw s.reason

  const machine = await machineInfo(redis.port)
  const redisIdleUsPerS = await idleCpuRate(redis.pid, 1000)
  log(`redis-server idle: ${redisIdleUsPerS.toFixed(0)} µs of CPU per second`)
  const commands = await measureCommands(redis)
  const bytes = await measureBytes(redis)
  // Before the timed runs, and torn down before them: the Cluster's gossip would otherwise share the cores.
  const cluster = await measureClusterSpread({
    variants,
    sessions: settings.clusterSessions,
    redisPort: redis.port,
    log,
    problems,
  })
  const measurements = await measureThroughput(redis)
  const results: Results = {
    version: 2,
    createdAt: new Date().toISOString(),
    machine,
    settings,
    variants,
    scenarios,
    measurements,
    summary: summarize(measurements, scenarios, variants),
    commands,
    bytes,
    redisIdleUsPerS,
    ...(cluster === undefined ? {} : { cluster }),
    problems,
    loadAverage: { start: loadStart, end: loadavg() },
    wallClockS: Math.round((Date.now() - started) / 1000),
  }
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`)
  writeReport(outDir, results)
  console.log(`\n${renderMarkdown(results, undefined).split('\n## Redis commands')[0]}`)
  console.log(renderRedisRatios(results).join('\n'))
  log(`results: ${relative(process.cwd(), outDir) || '.'}/latest.{json,md}, chart.svg`)
} finally {
  await Promise.allSettled([...servers.values()].map((s) => s.stop()))
  await redis.stop()
}
if (problems.length > 0) {
  console.error(`\n${problems.length} problem(s):\n- ${problems.join('\n- ')}`)
  process.exitCode = 1
}
log(`done in ${Math.round((Date.now() - started) / 1000)} s`)

// ---------------------------------------------------------------------------------------------------------
// Deterministic figures

async function measureCommands(r: RedisServer): Promise<Results['commands']> {
  const n = settings.commandRequests
  const out: Results['commands'] = {}
  for (const scenario of scenarios) {
    const row: Partial<Record<Variant, CommandFigure>> = {}
    await flushAll(r.port)
    // Every variant's session first (their keys do not collide), so the chunks below can interleave.
    const cells: { variant: Variant; send: (count: number) => Promise<void>; samples: CostSample[] }[] = []
    for (const variant of variants) {
      const server = servers.get(variant) as ServerProcess
      try {
        const cookie = needsSession(scenario) ? await createSession(server.url, scenario) : undefined
        const url = `${server.url}/${scenario}`
        const send = async (count: number): Promise<void> => {
          for (let i = 0; i < count; i++) {
            const reply = await get(url, cookie)
            if (reply.status !== 200) throw new Error(`${url} answered ${reply.status}`)
          }
        }
        // Warm: scripts loaded, connections up, so the counted window holds nothing but steady state.
        for (let i = 0; i < 3; i++) await get(url, cookie)
        cells.push({ variant, send, samples: [] })
      } catch (error) {
        problems.push(`commands ${scenario} ${variant}: ${(error as Error).message}`)
      }
    }
    // The Redis cost without MONITOR (it costs Redis too), in chunks that take turns across the variants:
    // a burst of other work on this machine then lands on every variant alike, not on one cell.
    const chunks = Math.max(1, Math.min(settings.costChunks, n))
    for (let k = 0; k < chunks; k++) {
      const size = Math.floor((n * (k + 1)) / chunks) - Math.floor((n * k) / chunks)
      for (const cell of [...cells.slice(k % cells.length), ...cells.slice(0, k % cells.length)]) {
        try {
          cell.samples.push(...(await measureRedisCost(r.port, r.pid, size, 1, cell.send)))
        } catch (error) {
          problems.push(`commands ${scenario} ${cell.variant}: ${(error as Error).message}`)
        }
      }
    }
    // Then who sent what, with MONITOR.
    for (const cell of cells) {
      try {
        const counts = await countCommands(r.port, () => cell.send(n))
        const cost = summarizeCost(cell.samples, counts.client, counts.lua)
        row[cell.variant] = {
          n,
          sent: perRequest(counts.client, n),
          executed: perRequest(counts.executed, n),
          insideScripts: perRequest(counts.lua, n),
          redisCpu: cost.cpu,
          durationMs: cost.durationMs,
          usec: cost.usec,
          sentUsec: cost.sentUsec,
          redisTimeUs: cost.timeUs,
        }
      } catch (error) {
        problems.push(`commands ${scenario} ${cell.variant}: ${(error as Error).message}`)
      }
    }
    out[scenario] = row
    log(`commands/request measured: ${scenario}`)
  }
  return out
}

async function measureBytes(r: RedisServer): Promise<Results['bytes']> {
  const out: Results['bytes'] = {}
  for (const variant of variants) {
    if (variant === 'bare') continue
    const server = servers.get(variant) as ServerProcess
    try {
      const figure = async (scenario: Scenario): Promise<BytesFigure> => {
        await flushAll(r.port)
        await createSession(server.url, scenario)
        const keys = await keyMemory(r.port)
        return { bytes: keys.reduce((a, k) => a + k.bytes, 0), keys }
      }
      out[variant] = { small: await figure('read'), large: await figure('2kb') }
    } catch (error) {
      problems.push(`bytes ${variant}: ${(error as Error).message}`)
    }
  }
  log('bytes/session measured')
  return out
}

// ---------------------------------------------------------------------------------------------------------
// Timings

async function measureThroughput(r: RedisServer): Promise<Measurement[]> {
  const out: Measurement[] = []
  const cells = settings.rounds * scenarios.length * variants.length
  let done = 0
  const phaseStart = Date.now()
  for (let round = 1; round <= settings.rounds; round++) {
    for (const [si, scenario] of scenarios.entries()) {
      // Interleaved: each round and scenario starts with another variant, so no variant always runs first.
      const offset = (round - 1 + si) % variants.length
      const order = [...variants.slice(offset), ...variants.slice(0, offset)]
      for (const variant of order) {
        const server = servers.get(variant) as ServerProcess
        done++
        if (!server.alive) {
          problems.push(`round ${round} ${scenario} ${variant}: server is not running`)
          continue
        }
        try {
          const m = await measureOne(r, server, scenario, round)
          out.push(m)
          const eta = ((Date.now() - phaseStart) / done) * (cells - done)
          log(
            `[${round}/${settings.rounds}] ${scenario.padEnd(9)} ${variant.padEnd(19)} ` +
              `${m.rps.toFixed(0).padStart(6)} req/s  p99 ${m.p99Ms.toFixed(1).padStart(5)} ms  ` +
              `${m.cpuUsPerReq.toFixed(0).padStart(4)} µs/req  Redis ${m.redisCpuUsPerReq.toFixed(1).padStart(5)} µs/req` +
              (m.errors + m.non2xx + m.timeouts > 0 ? `  ERRORS ${m.errors}/${m.non2xx}/${m.timeouts}` : '') +
              `  (${done}/${cells}, ~${Math.ceil(eta / 1000)} s left)`,
          )
        } catch (error) {
          problems.push(`round ${round} ${scenario} ${variant}: ${(error as Error).message}`)
          log(`[${round}] ${scenario} ${variant}: FAILED ${(error as Error).message}`)
        }
      }
    }
  }
  return out
}

async function measureOne(
  r: RedisServer,
  server: ServerProcess,
  scenario: Scenario,
  round: number,
): Promise<Measurement> {
  await flushAll(r.port)
  // One session per connection, created through the variant itself.
  const cookies = needsSession(scenario)
    ? await createSessions(server.url, scenario, settings.connections)
    : []
  if (server.variant !== 'bare') {
    if (needsSession(scenario) && cookies.length === 0) throw new Error('setup handed out no session cookie')
    await probe(server.url, scenario, cookies[0])
  }
  const target = `${server.url}/${scenario}`
  await load(target, cookies, settings.warmupS, settings.warmupAmount)
  const profile = profiled.includes(server.variant)
  if (profile) await server.ask('profile-start')
  const before = await server.ask('cpu')
  const redisBefore = readCpuTime(r.pid)
  const result = await load(target, cookies, settings.durationS, settings.amount)
  const redisAfter = readCpuTime(r.pid)
  const after = await server.ask('cpu')
  if (profile) {
    const dir = join(outDir, 'profiles')
    mkdirSync(dir, { recursive: true })
    const file = join(dir, `${server.variant}-${scenario}-r${round}.cpuprofile`)
    await server.ask('profile-stop', 30_000, file)
    // The request count, so profile-summary.ts can report µs per request.
    writeFileSync(`${file}.json`, JSON.stringify({ requests: after.served - before.served }))
  }
  const cpu =
    (after.cpu?.user ?? 0) + (after.cpu?.system ?? 0) - (before.cpu?.user ?? 0) - (before.cpu?.system ?? 0)
  const durationS = (result.finish.getTime() - result.start.getTime()) / 1000
  const requests = result.requests.total
  const redisCpu = cpuPerRequest(redisBefore, redisAfter, requests)
  return {
    round,
    scenario,
    variant: server.variant,
    requests,
    durationS,
    rps: requests / durationS,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    cpuUsPerReq: requests > 0 ? cpu / requests : Number.NaN,
    redisCpuUsPerReq: redisCpu.totalUs,
    redisMainCpuUsPerReq: redisCpu.mainUs,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  }
}

function load(
  url: string,
  cookies: readonly string[],
  durationS: number | undefined,
  requests: number | undefined,
): Promise<autocannon.Result> {
  let next = 0
  return autocannon({
    url,
    connections: settings.connections,
    pipelining: 1,
    // autocannon only notices the end of a run at a sample tick: keep ticks short so runs end on time.
    sampleInt: 100,
    ...(requests === undefined ? { duration: durationS ?? 1 } : { amount: requests }),
    // Each connection carries its own session, as distinct users would.
    ...(cookies.length === 0
      ? {}
      : {
          setupClient: (client: autocannon.Client) => {
            client.setHeaders({ cookie: cookies[next++ % cookies.length] as string })
          },
        }),
  })
}
