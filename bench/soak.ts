/**
 * Memory soak: a long run of mixed traffic through our middleware, with the server's RSS and heap sampled
 * (after a forced GC) while it runs; reports the growth slope in bytes per 1000 requests.
 *
 *   npm run bench:soak                          one million requests, writes bench/results/soak.json
 *   npm run bench:soak -- --requests 200000     fewer
 *
 * Options: --requests N --connections N --sample-ms MS --out DIR
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { freePort, startRedis } from '../test/redis-servers.js'
import { createSessions, probe } from './lib/http.js'
import { machineInfo } from './lib/machine.js'
import { pin, ROOT, ServerProcess } from './lib/processes.js'
import { writeReport } from './lib/report.js'
import type { Results, SoakResults, SoakSample } from './lib/results.js'
import { needsSession, SCENARIOS, type Scenario } from './lib/scenarios.js'
import { linearRegression } from './lib/stats.js'

const { values: argv } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000000' },
    connections: { type: 'string', default: '50' },
    'sample-ms': { type: 'string', default: '1000' },
    out: { type: 'string' },
  },
})
const requests = Number(argv.requests)
const connections = Number(argv.connections)
const sampleMs = Number(argv['sample-ms'])
const outDir = argv.out ?? join(ROOT, 'bench', 'results')
/** Samples taken before this share of the requests are warm-up (JIT, pools, caches) and not fitted. */
const WARMUP_SHARE = 0.1
/** Sessions created per scenario; requests pick them round-robin. */
const POOL = 20

pin(process.pid, '1')
const redis = await startRedis()
pin(redis.pid, '1')
let server: ServerProcess | undefined
try {
  server = await ServerProcess.start('ours', {
    port: await freePort(),
    redisPort: redis.port,
    cpu: '0',
    nodeArgs: ['--expose-gc'],
  })
  const base = server.url
  const pools = new Map<Scenario, string[]>()
  for (const scenario of SCENARIOS) {
    if (needsSession(scenario)) pools.set(scenario, await createSessions(base, scenario, POOL))
    await probe(base, scenario, pools.get(scenario)?.[0])
  }
  // Every connection walks the whole mix, each request with a session drawn from that scenario's pool.
  let next = 0
  const mix = SCENARIOS.map((scenario) => ({
    method: 'GET' as const,
    path: `/${scenario}`,
    setupRequest: (req: autocannon.Request) => {
      const pool = pools.get(scenario)
      return pool === undefined
        ? req
        : { ...req, headers: { ...req.headers, cookie: pool[next++ % pool.length] } }
    },
  }))

  const samples: SoakSample[] = []
  const t0 = Date.now()
  const sample = async (): Promise<void> => {
    const reply = await (server as ServerProcess).ask('mem', 30_000)
    if (reply.mem === undefined) return
    samples.push({
      served: reply.served,
      elapsedS: (Date.now() - t0) / 1000,
      rss: reply.mem.rss,
      heapUsed: reply.mem.heapUsed,
      heapTotal: reply.mem.heapTotal,
      external: reply.mem.external,
    })
  }
  await sample()
  let gc = false
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      await new Promise((resolve) => setTimeout(resolve, sampleMs))
      if (!sampling) break
      await sample()
      const last = samples[samples.length - 1] as SoakSample
      const line =
        `${last.served.toLocaleString('en-US').padStart(11)} requests  ` +
        `rss ${(last.rss / 2 ** 20).toFixed(1)} MiB  heap ${(last.heapUsed / 2 ** 20).toFixed(1)} MiB   `
      // A live line on a terminal; one line every 10 samples in a log.
      if (process.stdout.isTTY) process.stdout.write(`\r${line}`)
      else if (samples.length % 10 === 0) console.log(line.trimEnd())
    }
  })()
  const result = await autocannon({
    url: base,
    connections,
    amount: requests,
    sampleInt: 100,
    requests: mix,
  })
  sampling = false
  await sampler
  await sample()
  if (process.stdout.isTTY) process.stdout.write('\n')
  gc = (await server.ask('mem')).mem?.gc ?? false

  const startServed = requests * WARMUP_SHARE
  const fitted = samples.filter((s) => s.served >= startServed)
  const xs = fitted.map((s) => s.served / 1000)
  const rss = linearRegression(
    xs,
    fitted.map((s) => s.rss),
  )
  const heap = linearRegression(
    xs,
    fitted.map((s) => s.heapUsed),
  )
  const durationS = (result.finish.getTime() - result.start.getTime()) / 1000
  const soak: SoakResults = {
    version: 1,
    createdAt: new Date().toISOString(),
    machine: await machineInfo(redis.port),
    requests: result.requests.total,
    connections,
    mix: [...SCENARIOS],
    durationS,
    rps: result.requests.total / durationS,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    gc,
    samples,
    slope: {
      fromServed: startServed,
      rssBytesPer1000: rss.slope,
      rssR2: rss.r2,
      heapBytesPer1000: heap.slope,
      heapR2: heap.r2,
    },
  }
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'soak.json'), `${JSON.stringify(soak, null, 2)}\n`)
  console.log(
    `${soak.requests.toLocaleString('en-US')} requests in ${durationS.toFixed(0)} s ` +
      `(${soak.rps.toFixed(0)} req/s), ${soak.errors} errors, ${soak.non2xx} non-2xx\n` +
      `slope after ${startServed.toLocaleString('en-US')} requests: ` +
      `heap ${heap.slope.toFixed(1)} bytes / 1000 requests (r² ${heap.r2.toFixed(2)}), ` +
      `RSS ${rss.slope.toFixed(1)} bytes / 1000 requests (r² ${rss.r2.toFixed(2)})`,
  )
  // Fold the soak into the report when a benchmark result sits next to it.
  const latest = join(outDir, 'latest.json')
  if (existsSync(latest)) writeReport(outDir, JSON.parse(readFileSync(latest, 'utf8')) as Results)
  console.log(`wrote ${join(outDir, 'soak.json')}`)
} finally {
  await server?.stop()
  await redis.stop()
}
