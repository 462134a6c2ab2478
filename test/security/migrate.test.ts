// `migrate` under attack: hostile old values are a miss, never a 5xx and never data of ours; a forged or
// foreign old cookie never reaches Redis; an old-layout lookup never reads one of our keys.
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import Koa from 'koa'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { countOldSessions, RedisStore, session } from '../../src/index.js'
import { KEYS, ourApp, signedCookie } from '../migrate-apps.js'
import { type RedisServer, startRedis } from '../redis-servers.js'

let server: RedisServer
let redis: Redis
beforeAll(async () => {
  server = await startRedis()
  redis = new Redis({ port: server.port, lazyConnect: true })
})
afterAll(async () => {
  await redis?.quit()
  await server?.stop()
})

/** Calls of one command the server has run so far (INFO commandstats). */
async function calls(command: string): Promise<number> {
  const info = await redis.info('commandstats')
  const m = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)
  return m ? Number(m[1]) : 0
}

/** GET /peek on `app` with the signed koa-session cookie of old id `id`; the session:invalid reasons it raised. */
async function peekOld(app: Koa, id: string): Promise<{ res: request.Response; invalid: string[] }> {
  const invalid: string[] = []
  const listener = (e: { reason: string }) => invalid.push(e.reason)
  app.on('session:invalid', listener)
  const res = await request(app.callback()).get('/peek').set('Cookie', signedCookie('koa.sess', id))
  app.off('session:invalid', listener)
  return { res, invalid }
}

const deep = `{"a":${'['.repeat(400_000)}${']'.repeat(400_000)}}`

const HOSTILE: [string, (key: string) => Promise<unknown>, string][] = [
  ['not JSON', (k) => redis.set(k, '{"visits":1'), 'corrupt data'],
  ['a JSON array', (k) => redis.set(k, '[1,2]'), 'not a session'],
  ['a hash', (k) => redis.hset(k, 'visits', '1'), 'not a string'],
  ['a list', (k) => redis.rpush(k, '{"visits":1}'), 'not a string'],
  ['__proto__', (k) => redis.set(k, '{"__proto__":{"admin":true},"visits":1}'), 'reserved key'],
  ['maxAge', (k) => redis.set(k, '{"maxAge":1,"visits":1}'), 'reserved key'],
  ['constructor', (k) => redis.set(k, '{"constructor":{"prototype":{"admin":true}}}'), 'reserved key'],
  ['2 MiB', (k) => redis.set(k, `{"visits":"${'x'.repeat(2 * 1_048_576)}"}`), 'too large'],
  [
    '2,000 keys',
    (k) =>
      redis.set(k, JSON.stringify(Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i])))),
    'too many keys',
  ],
  ['nesting past the stack', (k) => redis.set(k, deep), 'corrupt data'],
  ['a string _expire', (k) => redis.set(k, '{"_expire":"soon","visits":1}'), 'bad _expire'],
  // Another app's JSON under a matching name: koa-session writes _expire or _session on every value.
  [
    'foreign JSON without _expire',
    (k) => redis.set(k, '{"total":99,"items":["a"]}'),
    'not a koa-session value',
  ],
]

describe('migrate: hostile old values', () => {
  it.each(HOSTILE)(
    'migrate koa-redis: %s is a miss with session:invalid, a 200, and nothing of ours written',
    async (_name, write, reason) => {
      const id = randomUUID()
      await write(`h:${id}`)
      const type = await redis.type(`h:${id}`)
      const ours = ourApp(server.port, `hostile${id}:`, { from: 'koa-redis', prefix: 'h:' })
      const { res, invalid: events } = await peekOld(ours.app, id)
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ user: null, visits: null })
      expect(events).toEqual([`old session: ${reason}`])
      expect(await ours.store.count()).toBe(0)
      expect(await redis.type(`h:${id}`)).toBe(type)
      expect(({} as Record<string, unknown>).admin).toBeUndefined()
      await ours.store.close()
    },
  )

  it('migrate koa-redis: an old session without TTL or _expire gets the idle timeout; no key of ours lacks a TTL', async () => {
    const id = randomUUID()
    await redis.set(`h:${id}`, '{"visits":5,"_session":true}')
    const ours = ourApp(server.port, 'nottl:', { from: 'koa-redis', prefix: 'h:' }, { maxAge: 60_000 })
    const res = await request(ours.app.callback()).get('/peek').set('Cookie', signedCookie('koa.sess', id))
    expect(res.body.visits).toBe(5)
    for (const key of await redis.keys('nottl:*')) {
      const pttl = await redis.pttl(key)
      expect(pttl).toBeGreaterThan(0)
      expect(pttl).toBeLessThanOrEqual(60_000)
    }
    await ours.store.close()
  })

  it('migrate koa-redis: an old session over the configured maxBytes or maxKeys is a miss with session:invalid, never a 5xx', async () => {
    const id = randomUUID()
    await redis.set(
      `h:${id}`,
      JSON.stringify({
        visits: 1,
        blob: 'x'.repeat(5000),
        a: 1,
        b: 2,
        _expire: Date.now() + 600_000,
        _maxAge: 600_000,
      }),
    )
    for (const limits of [{ maxBytes: 1000 }, { maxKeys: 2 }]) {
      const ours = ourApp(
        server.port,
        `limits${Object.keys(limits)[0]}:`,
        { from: 'koa-redis', prefix: 'h:' },
        limits,
      )
      const { res, invalid: events } = await peekOld(ours.app, id)
      expect(res.status).toBe(200)
      expect(events).toEqual(['old session: over maxKeys or maxBytes'])
      expect(await ours.store.count()).toBe(0)
      expect(await redis.get(`h:${id}`)).toContain('blob')
      await ours.store.close()
    }
  })

  it('migrate koa-redis: an expired _expire is a miss, and nothing is created', async () => {
    const id = randomUUID()
    await redis.set(`h:${id}`, JSON.stringify({ visits: 9, _expire: Date.now() - 1, _maxAge: 1000 }))
    const ours = ourApp(server.port, 'expired:', { from: 'koa-redis', prefix: 'h:' })
    const res = await request(ours.app.callback()).get('/peek').set('Cookie', signedCookie('koa.sess', id))
    expect(res.body.visits).toBeNull()
    expect(await ours.store.count()).toBe(0)
    await ours.store.close()
  })
})

describe('migrate: cookies that must never reach Redis', () => {
  it('migrate: a forged signature, a foreign id format, and names of our own keys cost no Redis call', async () => {
    const victim = randomUUID()
    await redis.set(`f:${victim}`, '{"visits":1,"passport":{"user":"root"}}')
    const ours = ourApp(server.port, 'koa:sess:', { from: 'koa-redis', prefix: 'f:' })
    const generic = ourApp(server.port, 'koa:sess:', { from: 'koa-generic-session' })
    // A real session of ours, whose key an attacker might try to have read as an old session.
    const mine = await request(ours.app.callback()).get('/')
    const [ourKey] = await redis.keys('koa:sess:{*')
    const before = await calls('getrange')
    const attempts = [
      [ours, `koa.sess=${victim}; koa.sess.sig=AAAAAAAAAAAAAAAAAAAAAAAAAAA`],
      [ours, `koa.sess=${victim}`],
      [ours, signedCookie('koa.sess', '*')],
      [ours, signedCookie('koa.sess', `${victim}*`)],
      [ours, signedCookie('koa.sess', (ourKey as string).slice('f:'.length))],
      [generic, signedCookie('koa.sid', (ourKey as string).slice('koa:sess:'.length))],
      [generic, signedCookie('koa.sid', 'u:{abc}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')],
      [generic, signedCookie('koa.sid', '*'.repeat(32))],
    ] as const
    for (const [app, cookie] of attempts) {
      const res = await request(app.app.callback()).get('/peek').set('Cookie', cookie)
      expect(res.status).toBe(200)
      expect(res.body.user).toBeNull()
    }
    expect(await calls('getrange')).toBe(before)
    expect(await redis.get(`f:${victim}`)).toContain('root')
    expect(mine.status).toBe(200)
    await ours.store.close()
    await generic.store.close()
  })
})

describe('migrate: the second attack pass', () => {
  it('lazy: a logout that carries only an old cookie ends that session; a copy of the cookie gets nothing', async () => {
    const id = randomUUID()
    const value = { visits: 3, who: 'victim', _expire: Date.now() + 600_000, _maxAge: 600_000 }
    await redis.set(`l:${id}`, JSON.stringify(value), 'PX', 600_000)
    const store = new RedisStore({ port: server.port, keySchema: `lazyout${id}:` })
    const app = new Koa()
    app.keys = KEYS
    app.silent = true
    app.use(session({ store, lazy: true, migrate: { from: 'koa-redis', prefix: 'l:' } }, app))
    app.use(async (ctx) => {
      if (ctx.path === '/logout') ctx.session = null
      else await ctx.loadSession()
      ctx.body = { who: ctx.session?.who ?? null }
    })
    const cookie = signedCookie('koa.sess', id)
    const bye = await request(app.callback()).get('/logout').set('Cookie', cookie)
    expect(bye.status).toBe(200)
    // Nothing of the old session is left: no data under the old key, no session of ours.
    expect(await redis.get(`l:${id}`)).not.toContain('victim')
    expect(await store.count()).toBe(0)
    const copy = await request(app.callback()).get('/').set('Cookie', cookie)
    expect(copy.body).toEqual({ who: null })
    await store.close()
  })

  it("an old session whose passport user is an object (the old serializeUser's) is a miss, not a 500", async () => {
    const id = randomUUID()
    const value = {
      passport: { user: { id: 1, name: 'obj' } },
      _expire: Date.now() + 600_000,
      _maxAge: 600_000,
    }
    await redis.set(`o:${id}`, JSON.stringify(value), 'PX', 600_000)
    const ours = ourApp(server.port, `objuser${id}:`, { from: 'koa-redis', prefix: 'o:' })
    const { res, invalid: events } = await peekOld(ours.app, id)
    expect(res.status).toBe(200)
    expect(events).toEqual(['old session: userId is not a string or a number'])
    expect(await ours.store.count()).toBe(0)
    await ours.store.close()
  })

  it('countOldSessions counts only what a run would move: foreign JSON and hostile values are not counted', async () => {
    const prefix = `c${randomUUID().slice(0, 8)}:`
    await redis.set(
      `${prefix}${randomUUID()}`,
      JSON.stringify({ v: 1, _expire: Date.now() + 600_000 }),
      'PX',
      600_000,
    )
    await redis.set(`${prefix}${randomUUID()}`, '{"total":99}')
    await redis.set(`${prefix}${randomUUID()}`, 'not json')
    expect(await countOldSessions({ from: 'koa-redis', prefix, client: redis })).toBe(1)
  })
})
