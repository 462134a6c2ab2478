// `migrate`: the real old libraries write guest and logged-in sessions, the app restarts on our middleware,
// and every old cookie keeps its data and its login under a new id.
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type Koa from 'koa'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cookieHeader, cookiesOf } from './helpers.js'
import { genericSessionApp, koaSessionApp, ourApp, puid, signedCookie, write1x } from './migrate-apps.js'
import { type RedisServer, startRedis } from './redis-servers.js'

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

/** Every string key of the database whose value still holds `needle` (the data of an old session). */
async function stringKeysHolding(needle: string): Promise<string[]> {
  const found: string[] = []
  for (const key of await redis.keys('*')) {
    if ((await redis.type(key)) !== 'string') continue
    if ((await redis.get(key))?.includes(needle)) found.push(key)
  }
  return found
}

/** Replays our new cookie: the next request on the new id works and counts on. */
async function next(app: Koa, res: request.Response): Promise<request.Response> {
  return request(app.callback()).get('/').set('Cookie', cookieHeader(res))
}

describe('migrate from koa-session + koa-redis', () => {
  it('migrate koa-redis: guest and passport sessions keep data and login under new ids; the old keys hold no data', async () => {
    const old = koaSessionApp(server.port, 'kr:')
    const s = request(old.app.callback())
    const guest = await s.get('/')
    await s.get('/').set('Cookie', cookieHeader(guest))
    const login = await s.post('/login?username=alice&password=secret').set('Cookie', cookieHeader(guest))
    expect(login.text).toBe('in')
    const alice = await s.get('/').set('Cookie', cookieHeader(login))
    expect(alice.body).toEqual({ user: 'alice', visits: 3 })
    const guest2 = await s.get('/')
    const oldGuestId = cookiesOf(guest2)['koa.sess'] as string
    await old.close()

    const ours = ourApp(server.port, 'ours1:', { from: 'koa-redis', prefix: 'kr:' })
    const migrated: unknown[] = []
    ours.app.on('session:migrated', (e: { from: string }) => migrated.push(e.from))
    const n = request(ours.app.callback())
    const aliceNew = await n.get('/').set('Cookie', cookieHeader(alice))
    expect(aliceNew.body).toEqual({ user: 'alice', visits: 4 })
    const newId = cookiesOf(aliceNew)['koa.sess'] as string
    expect(newId).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect((await next(ours.app, aliceNew)).body).toEqual({ user: 'alice', visits: 5 })
    const guestNew = await n.get('/').set('Cookie', cookieHeader(guest2))
    expect(guestNew.body).toEqual({ user: null, visits: 2 })
    expect(cookiesOf(guestNew)['koa.sess']).not.toBe(oldGuestId)
    expect((await next(ours.app, guestNew)).body).toEqual({ user: null, visits: 3 })
    expect(migrated).toEqual(['koa-redis', 'koa-redis'])

    const list = await ours.store.listSessions('alice')
    expect(list).toHaveLength(1)
    expect(await stringKeysHolding('visits')).toEqual([])
    expect(await redis.exists(`kr:${oldGuestId}`)).toBe(1) // the marker, for as long as the session had left
    expect(await redis.pttl(`kr:${oldGuestId}`)).toBeGreaterThan(0)
    await ours.store.close()
  })

  it('migrate koa-redis: 10 parallel requests on one old cookie end on one new id and one stored copy', async () => {
    const old = koaSessionApp(server.port, 'kp:')
    const login = await request(old.app.callback()).post('/login?username=bob&password=secret')
    await old.close()
    const ours = ourApp(server.port, 'ours2:', { from: 'koa-redis', prefix: 'kp:' })
    const replies = await Promise.all(
      Array.from({ length: 10 }, () =>
        request(ours.app.callback()).get('/peek').set('Cookie', cookieHeader(login)),
      ),
    )
    for (const r of replies) expect(r.body.user).toBe('bob')
    const ids = new Set(replies.map((r) => cookiesOf(r)['koa.sess']))
    expect(ids.size).toBe(1)
    expect(await ours.store.count()).toBe(1)
    expect(await ours.store.listSessions('bob')).toHaveLength(1)
    await ours.store.close()
  })

  it('migrate koa-redis: the new id keeps what was left of the old lifetime, and absoluteTimeout counts from the move', async () => {
    const old = koaSessionApp(server.port, 'kt:')
    const guest = await request(old.app.callback()).get('/')
    await old.close()
    const oldId = cookiesOf(guest)['koa.sess'] as string
    await redis.pexpire(`kt:${oldId}`, 120_000)
    const ours = ourApp(server.port, 'ours3:', { from: 'koa-redis', prefix: 'kt:' })
    const res = await request(ours.app.callback()).get('/peek').set('Cookie', cookieHeader(guest))
    expect(res.body.visits).toBe(1)
    const [key] = await redis.keys('ours3:{*')
    const pttl = await redis.pttl(key as string)
    expect(pttl).toBeGreaterThan(100_000)
    expect(pttl).toBeLessThanOrEqual(120_000)
    await ours.store.close()
  })
})

describe('migrate from koa-generic-session + koa-redis', () => {
  it('migrate koa-generic-session: koa.sid sessions move to koa.sess, the cookie object is dropped, the old cookie cleared', async () => {
    const old = genericSessionApp(server.port, 'gs:')
    const s = request(old.app.callback())
    const guest = await s.get('/')
    const gc = cookieHeader(guest, 'koa.sid')
    await s.get('/').set('Cookie', gc)
    const login = await s.post('/login?username=carol').set('Cookie', gc)
    expect(login.text).toBe('in')
    const other = await s.get('/')
    await old.close()
    const oldId = cookiesOf(guest)['koa.sid'] as string
    expect(oldId).toMatch(/^[A-Za-z0-9_-]{32}$/)

    const ours = ourApp(server.port, 'ours4:', { from: 'koa-generic-session', prefix: 'gs:' })
    const n = request(ours.app.callback())
    const carol = await n.get('/peek').set('Cookie', gc)
    expect(carol.body).toEqual({ user: 'carol', visits: 2 })
    expect(cookiesOf(carol)['koa.sid']).toBe('') // the old cookie is cleared
    const again = await n.get('/').set('Cookie', cookieHeader(carol))
    expect(again.body).toEqual({ user: 'carol', visits: 3 })
    const guestNew = await n.get('/').set('Cookie', cookieHeader(other, 'koa.sid'))
    expect(guestNew.body).toEqual({ user: null, visits: 2 })
    expect(await ours.store.listSessions('carol')).toHaveLength(1)
    expect(await stringKeysHolding('visits')).toEqual([])
    await ours.store.close()
  })
})

describe('migrate from koa-session-redis3 1.x', () => {
  it('migrate 1.x: a signed koa:sess cookie moves; a key written without EXPIRE gets the idle timeout', async () => {
    const sid = puid(1)
    const user = puid(2)
    await write1x(redis, 'app:', sid, { views: 7 })
    await write1x(redis, 'app:', user, { views: 1, passport: { user: 'dave' } }, 3600)
    const ours = ourApp(
      server.port,
      'ours5:',
      { from: 'koa-session-redis3', prefix: 'app' },
      { maxAge: 600_000 },
    )
    const n = request(ours.app.callback())
    const guest = await n.get('/peek').set('Cookie', signedCookie('koa:sess', sid))
    expect(guest.body).toEqual({ user: null, visits: null })
    const dave = await n.get('/').set('Cookie', signedCookie('koa:sess', user))
    expect(dave.body).toEqual({ user: 'dave', visits: 1 })
    expect(await ours.store.listSessions('dave')).toHaveLength(1)
    const keys = await redis.keys('ours5:{*')
    expect(keys).toHaveLength(2)
    for (const key of keys) {
      const pttl = await redis.pttl(key)
      expect(pttl).toBeGreaterThan(0)
      expect(pttl).toBeLessThanOrEqual(3_600_000)
    }
    const views = await n.get('/peek').set('Cookie', cookieHeader(guest))
    expect(views.status).toBe(200)
    expect(await stringKeysHolding('views')).toEqual([])
    await ours.store.close()
  })

  it('migrate 1.x: an unsigned cookie is a fresh session without `unsigned`, and the old key stays untouched', async () => {
    const sid = puid(3)
    await write1x(redis, '', sid, { views: 3 }, 3600)
    const before = await redis.get(sid)
    const signedOnly = ourApp(server.port, 'ours6:', { from: 'koa-session-redis3' })
    const fresh = await request(signedOnly.app.callback()).get('/peek').set('Cookie', `koa:sess=${sid}`)
    expect(fresh.status).toBe(200)
    expect(await redis.get(sid)).toBe(before)
    expect(await signedOnly.store.count()).toBe(0)
    await signedOnly.store.close()

    const unsigned = ourApp(server.port, 'ours7:', { from: 'koa-session-redis3', unsigned: true })
    const moved = await request(unsigned.app.callback()).get('/').set('Cookie', `koa:sess=${sid}`)
    expect(moved.status).toBe(200)
    expect(await unsigned.store.count()).toBe(1)
    expect(await redis.get(sid)).not.toContain('views')
    await unsigned.store.close()
  })
})

describe('migrate with lazy', () => {
  it('migrate lazy: an old cookie makes ctx.session wait for loadSession(), which moves the session', async () => {
    const sid = puid(9)
    await write1x(redis, '', sid, { views: 11 }, 3600)
    const ours = ourApp(server.port, 'ours8:', { from: 'koa-session-redis3' }, { lazy: true })
    const early = ourApp(server.port, 'ours8:', { from: 'koa-session-redis3' }, { lazy: true })
    early.app.middleware.unshift(async (ctx, next) => {
      await next().catch((err: Error) => {
        ctx.status = 409
        ctx.body = err.message
      })
    })
    const refused = await request(early.app.callback())
      .get('/peek')
      .set('Cookie', signedCookie('koa:sess', sid))
    expect(refused.status).toBe(409)
    expect(refused.text).toContain('loadSession')
    ours.app.middleware.splice(1, 0, async (ctx, next) => {
      await ctx.loadSession()
      await next()
    })
    const res = await request(ours.app.callback()).get('/peek').set('Cookie', signedCookie('koa:sess', sid))
    expect(res.body.visits).toBeNull()
    expect(await ours.store.count()).toBe(1)
    await Promise.all([ours.store.close(), early.store.close()])
  })
})

describe('migrate with a custom genid', () => {
  it('migrate genid: an old id that our custom id format accepts is looked up in the old layout once the store misses it', async () => {
    const old = koaSessionApp(server.port, 'kg:')
    const guest = await request(old.app.callback()).get('/')
    await old.close()
    const ours = ourApp(
      server.port,
      'ours9:',
      { from: 'koa-redis', prefix: 'kg:' },
      { genid: () => randomUUID() },
    )
    const res = await request(ours.app.callback()).get('/peek').set('Cookie', cookieHeader(guest))
    expect(res.body.visits).toBe(1)
    expect(cookiesOf(res)['koa.sess']).not.toBe(cookiesOf(guest)['koa.sess'])
    expect(await ours.store.count()).toBe(1)
    await ours.store.close()
  })
})
