// How long one session write at the size limits holds Redis: SLOWLOG of every command, on a private
// redis-server, for a session of `maxKeys` small keys and one of a single `maxBytes` value, created then
// rewritten (ten times each). Run: node --import tsx bench/limits.ts [--keys 256] [--bytes 262144]
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import Koa from 'koa'
import request from 'supertest'
import { RedisStore, session } from '../src/index.js'
import { startRedis } from '../test/redis-servers.js'

const { values } = parseArgs({ options: { keys: { type: 'string' }, bytes: { type: 'string' } } })
const maxKeys = Number(values.keys ?? 256)
const maxBytes = Number(values.bytes ?? 262_144)
const server = await startRedis()
const admin = new Redis({ port: server.port })
await admin.config('SET', 'slowlog-log-slower-than', '0')
await admin.config('SET', 'slowlog-max-len', '100000')
const store = new RedisStore({ port: server.port, keySchema: 'limits:' })
const app = new Koa()
app.keys = ['a key of at least sixteen bytes']
app.silent = true
app.use(session({ store, maxKeys, maxBytes }, app))
let fill: (s: Record<string, unknown>, round: number) => void = () => undefined
app.use((ctx) => {
  fill(ctx.session, Number(ctx.query.round))
  ctx.body = 'ok'
})

const shapes: [string, (s: Record<string, unknown>, round: number) => void][] = [
  [
    `${maxKeys} keys`,
    (s, round) => {
      for (let i = 0; i < maxKeys; i++) s[`k${i}`] = i + round
    },
  ],
  // {"blob":"…"}: the name, and two quotes around the value.
  [
    `one value of ${maxBytes} bytes`,
    (s, round) => {
      s.blob = String(round % 10).repeat(maxBytes - 6)
    },
  ],
]
for (const [name, shape] of shapes) {
  fill = shape
  const scripts: number[] = []
  let longest = 0
  for (let run = 0; run < 10; run++) {
    await admin.slowlog('RESET')
    const created = await request(app.callback()).get('/?round=0')
    const cookie = (created.headers['set-cookie'] as unknown as string[])
      .map((c) => c.split(';')[0])
      .join('; ')
    await request(app.callback()).get('/?round=1').set('Cookie', cookie)
    const log = (await admin.slowlog('GET', 100_000)) as [number, number, number, unknown[]][]
    for (const [, , us, args] of log) {
      const command = String(args[0]).toLowerCase()
      if (command === 'slowlog' || command === 'config') continue
      longest = Math.max(longest, us)
      if (command === 'evalsha' || command === 'eval') scripts.push(us)
    }
  }
  scripts.sort((a, b) => a - b)
  const median = scripts[Math.floor(scripts.length / 2)]
  console.log(
    `${name}: write script median ${median} µs, longest command ${longest} µs (10 creates + 10 rewrites)`,
  )
}
await store.close()
await admin.quit()
await server.stop()
