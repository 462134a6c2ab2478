// One-off measurement of the bulk command: 100,000 koa-session + koa-redis sessions (a third of them
// logged in) moved by `koa-session-redis3 migrate` on a private redis-server. Reports the wall time and
// the longest single Redis command seen (SLOWLOG, every command over 20 µs kept).
// Run: node --import tsx bench/migrate.ts [--sessions 100000] [--batch 1000] [--concurrency 32]
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { main } from '../src/cli.js'
import { startRedis } from '../test/redis-servers.js'

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
  },
})
const n = Number(values.sessions)
const server = await startRedis()
const redis = new Redis({ port: server.port })
try {
  const expire = Date.now() + 86_400_000
  for (let i = 0; i < n; i += 5000) {
    const pipeline = redis.pipeline()
    for (let j = i; j < Math.min(n, i + 5000); j++) {
      const data =
        j % 3 === 0 ? { views: j, passport: { user: `user${j % 5000}` } } : { views: j, cart: [1, 2, 3] }
      pipeline.set(
        randomUUID(),
        JSON.stringify({ ...data, _expire: expire, _maxAge: 86_400_000 }),
        'PX',
        86_400_000,
      )
    }
    await pipeline.exec()
  }
  await redis.config('SET', 'slowlog-log-slower-than', '20')
  await redis.config('SET', 'slowlog-max-len', '1000000')
  await redis.slowlog('RESET')
  await redis.config('RESETSTAT')
  const env = { APP_KEYS: 'bench-key' }
  const args = ['migrate', '--from', 'koa-redis', '--url', server.url, '--user-id', 'passport.user']
  const quiet = { out: (t: string) => process.stdout.write(t), err: () => undefined }
  const started = performance.now()
  await main(
    [...args, '--batch', String(values.batch), '--concurrency', String(values.concurrency)],
    env,
    quiet,
  )
  const seconds = (performance.now() - started) / 1000
  const log = (await redis.slowlog('GET', 1_000_000)) as [number, number, number, string[]][]
  const longest = log.reduce((a, e) => (e[2] > a[2] ? e : a), [0, 0, 0, ['-']] as [
    number,
    number,
    number,
    string[],
  ])
  const stats = await redis.info('commandstats')
  await main([...args, '--dry-run'], env, quiet)
  console.log(
    JSON.stringify(
      {
        sessions: n,
        batch: Number(values.batch),
        concurrency: Number(values.concurrency),
        seconds: Number(seconds.toFixed(1)),
        perSecond: Math.round(n / seconds),
        slowlogEntriesOver20us: log.length,
        longestCommandMicros: longest[2],
        longestCommand: longest[3][0],
        top5Micros: log
          .map((e) => `${e[3][0]} ${e[2]}`)
          .sort((a, b) => Number(b.split(' ')[1]) - Number(a.split(' ')[1]))
          .slice(0, 5),
        over1ms: log.filter((e) => e[2] > 1000).length,
        over10ms: log.filter((e) => e[2] > 10_000).length,
        longestScanMicros: Math.max(
          0,
          ...log.filter((e) => e[3][0]?.toLowerCase() === 'scan').map((e) => e[2]),
        ),
        loadAverage: (await import('node:os')).loadavg().map((l) => l.toFixed(1)),
        commandstats: stats
          .split('\n')
          .filter((l) => /cmdstat_(scan|getrange|pttl|set|evalsha|eval|hgetall):/.test(l))
          .map((l) => l.trim()),
        redis: (await redis.info('server')).match(/redis_version:(\S+)/)?.[1],
        node: process.version,
      },
      null,
      2,
    ),
  )
} finally {
  redis.disconnect()
  await server.stop()
}
