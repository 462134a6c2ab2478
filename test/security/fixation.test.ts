// Session fixation: an id chosen or planted by an attacker is never adopted, and a login or
// regenerate() moves the session to an id the attacker does not know.

import passport from 'koa-passport'
import request from 'supertest'
import { afterAll, expect, inject, it } from 'vitest'
import { MemoryStore, type SessionOptions } from '../../src/index.js'
import { RedisStore } from '../../src/store/redis.js'
import { sendCommand } from '../redis-servers.js'
import {
  cookieFor,
  cookieId,
  headerFor,
  headerId,
  keysUnder,
  makeApp,
  randomId,
  replay,
  schema,
  sess,
} from './support.js'

const port = inject('redisPort')
const KS = schema('fixation')
const redisStore = new RedisStore({ port, keySchema: KS })
const memoryStore = new MemoryStore()
const STORES = { RedisStore: redisStore, MemoryStore: memoryStore } as const
type Kind = keyof typeof STORES

afterAll(async () => {
  await redisStore.clear()
  await redisStore.close()
  await memoryStore.close()
})

/** True when the store holds `id`, checked without sliding or creating anything in Redis. */
async function holds(kind: Kind, id: string): Promise<boolean> {
  if (kind === 'RedisStore') {
    const keys = await keysUnder(port, KS)
    if (keys.some((k) => k.includes(id))) throw new Error('a raw id appears in a Redis key')
    return (await sendCommand(port, ['EXISTS', redisStore.key(id)])) === 1
  }
  return (await memoryStore.load(id, { now: Date.now(), ttl: 60_000, absoluteTimeout: 0 })) !== null
}

function app(kind: Kind, extra: Partial<SessionOptions> = {}) {
  return makeApp(
    { store: STORES[kind], userId: (s) => s.user as string | undefined, ...extra },
    async (ctx) => {
      const s = sess(ctx)
      if (ctx.path === '/cart') s.cart = 'victim cart'
      if (ctx.path === '/login') s.user = ctx.query.user
      if (ctx.path === '/regenerate') {
        const old = ctx.sessionId as string
        await s.regenerate()
        // Checked while the request is still running: "dead at once", not at commit.
        ctx.body = { old, oldAlive: await holds(kind, old), data: s.toJSON() }
        return
      }
      ctx.body = { isNew: s.isNew, id: ctx.sessionId, data: s.toJSON() }
    },
  ).app.callback()
}

for (const kind of ['RedisStore', 'MemoryStore'] as const) {
  it(`${kind} fixation: a correctly signed, well-formed id the store does not know is never adopted, even on a write`, async () => {
    const planted = randomId()
    const res = await request(app(kind)).get('/cart').set('Cookie', cookieFor(planted))
    expect(res.status).toBe(200)
    expect(res.body.isNew).toBe(true)
    const issued = cookieId(res)
    expect(issued).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(issued).not.toBe(planted)
    expect(res.body.id).toBe(issued)
    expect(await holds(kind, planted)).toBe(false)
    expect(await holds(kind, issued as string)).toBe(true)
    // The attacker replaying the planted id finds nothing of the victim's.
    const attacker = await request(app(kind)).get('/').set('Cookie', cookieFor(planted))
    expect(attacker.body).toMatchObject({ isNew: true, data: {} })
    expect(cookieId(attacker)).not.toBe(planted)
  })

  it(`${kind} fixation: a planted live guest session gets a new id at login, and the attacker's copy dies`, async () => {
    // The attacker makes a real, stored session, then plants its cookie in the victim's browser.
    const own = await request(app(kind)).get('/cart')
    const planted = cookieId(own) as string
    expect(await holds(kind, planted)).toBe(true)
    const login = await request(app(kind)).get('/login?user=victim').set('Cookie', replay(own))
    const victimId = cookieId(login)
    expect(victimId).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(victimId).not.toBe(planted)
    expect(login.body).toMatchObject({ data: { cart: 'victim cart', user: 'victim' } })
    expect(await holds(kind, planted)).toBe(false)
    const attacker = await request(app(kind)).get('/').set('Cookie', replay(own))
    expect(attacker.body).toMatchObject({ isNew: true, data: {} })
    const victim = await request(app(kind)).get('/').set('Cookie', replay(login))
    expect(victim.body).toMatchObject({ isNew: false, id: victimId, data: { user: 'victim' } })
  })

  it(`${kind} ctx.sessionId: after a login in the handler it names the id the response carries, not the dying one`, async () => {
    const own = await request(app(kind)).get('/cart')
    const planted = cookieId(own) as string
    const login = await request(app(kind)).get('/login?user=victim').set('Cookie', replay(own))
    // The handler reads ctx.sessionId after setting the user (e.g. to hand it to destroyUserSessions'
    // `except`, or to a front end): it must not be the planted id that the commit deletes.
    expect(login.body.id).not.toBe(planted)
    expect(login.body.id).toBe(cookieId(login))
  })

  it(`${kind} fixation: switching user (A then B) changes the id again and kills A's id`, async () => {
    const a = await request(app(kind)).get('/login?user=alice')
    const idA = cookieId(a) as string
    const b = await request(app(kind)).get('/login?user=bob').set('Cookie', replay(a))
    const idB = cookieId(b) as string
    expect(idB).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(idB).not.toBe(idA)
    expect(await holds(kind, idA)).toBe(false)
    expect((await request(app(kind)).get('/').set('Cookie', replay(a))).body).toMatchObject({
      isNew: true,
      data: {},
    })
  })

  it(`${kind} regenerate(): the old id is dead before the response, data is kept, and replaying it gives a new empty session`, async () => {
    const first = await request(app(kind)).get('/cart')
    const old = cookieId(first) as string
    const res = await request(app(kind)).get('/regenerate').set('Cookie', replay(first))
    expect(res.body).toEqual({ old, oldAlive: false, data: { cart: 'victim cart' } })
    const fresh = cookieId(res) as string
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(fresh).not.toBe(old)
    expect(await holds(kind, old)).toBe(false)
    expect(await holds(kind, fresh)).toBe(true)
    const replayed = await request(app(kind)).get('/').set('Cookie', replay(first))
    expect(replayed.body).toMatchObject({ isNew: true, data: {} })
    expect(cookieId(replayed)).not.toBe(old)
    const kept = await request(app(kind)).get('/').set('Cookie', replay(res))
    expect(kept.body).toEqual({ isNew: false, id: fresh, data: { cart: 'victim cart' } })
  })
}

it('RedisStore fixation: a planted, correctly signed id in the header is never adopted', async () => {
  const planted = randomId()
  const callback = app('RedisStore', { header: 'x-session-id' })
  const res = await request(callback).get('/cart').set('x-session-id', headerFor('x-session-id', planted))
  const issued = headerId(res.headers['x-session-id'])
  expect(issued).toMatch(/^[A-Za-z0-9_-]{43}$/)
  expect(issued).not.toBe(planted)
  expect(await holds('RedisStore', planted)).toBe(false)
  expect(await holds('RedisStore', issued as string)).toBe(true)
})

it('RedisStore regenerate(): with regenerateKeepsData: false the new session starts empty', async () => {
  const first = await request(app('RedisStore', { regenerateKeepsData: false })).get('/cart')
  const res = await request(app('RedisStore', { regenerateKeepsData: false }))
    .get('/regenerate')
    .set('Cookie', replay(first))
  expect(res.body).toMatchObject({ oldAlive: false, data: {} })
  expect(await holds('RedisStore', cookieId(first) as string)).toBe(false)
})

it('RedisStore save(cb) / regenerate(cb): passport-style callbacks fire once without error; save persists before the response', async () => {
  const seen: unknown[] = []
  const callback = makeApp({ store: redisStore }, async (ctx) => {
    const s = sess(ctx)
    const old = ctx.sessionId as string
    const regenerated = await new Promise<unknown[]>((resolve) => {
      void s.regenerate((...args: unknown[]) => resolve(args))
    })
    s.passport = { user: 'alice' }
    const saved = await new Promise<unknown[]>((resolve) => {
      void s.save((...args: unknown[]) => resolve(args))
    })
    seen.push(regenerated, saved)
    ctx.body = {
      old,
      id: ctx.sessionId,
      oldAlive: await holds('RedisStore', old),
      newAlive: await holds('RedisStore', ctx.sessionId as string),
    }
  }).app.callback()
  const first = await request(
    makeApp({ store: redisStore }, async (ctx) => {
      sess(ctx).cart = 1
      ctx.body = ''
    }).app.callback(),
  ).get('/')
  const res = await request(callback).get('/').set('Cookie', replay(first))
  expect(res.status).toBe(200)
  // Node-style: called with no error (no argument, or a nullish one).
  for (const args of seen) expect((args as unknown[]).filter((a) => a != null)).toEqual([])
  expect(seen).toHaveLength(2)
  expect(res.body.old).toBe(cookieId(first))
  expect(res.body.id).not.toBe(res.body.old)
  expect(res.body).toMatchObject({ oldAlive: false, newAlive: true })
  expect(cookieId(res)).toBe(res.body.id)
})

it('koa-passport 6: login regenerates the id, logout kills the logged-in id', async () => {
  const pp = new passport.KoaPassport()
  pp.serializeUser((user, done) => done(null, (user as { id: string }).id))
  pp.deserializeUser((id: string, done) => done(null, { id }))
  const callback = makeApp(
    { store: redisStore, userId: (s) => (s.passport as { user?: string } | undefined)?.user },
    [
      pp.initialize(),
      pp.session(),
      async (ctx) => {
        if (ctx.path === '/login') await ctx.login({ id: 'alice' })
        if (ctx.path === '/logout') await ctx.logout()
        if (ctx.path === '/guest') sess(ctx).cart = 'guest cart'
        ctx.body = { user: (ctx.state.user as { id?: string } | undefined)?.id ?? null, id: ctx.sessionId }
      },
    ],
  ).app.callback()
  const guest = await request(callback).get('/guest')
  const guestId = cookieId(guest) as string
  const login = await request(callback).get('/login').set('Cookie', replay(guest))
  const loggedIn = cookieId(login) as string
  expect(login.status).toBe(200)
  expect(loggedIn).toMatch(/^[A-Za-z0-9_-]{43}$/)
  expect(loggedIn).not.toBe(guestId)
  expect(await holds('RedisStore', guestId)).toBe(false)
  expect((await request(callback).get('/').set('Cookie', replay(login))).body).toEqual({
    user: 'alice',
    id: loggedIn,
  })
  // The attacker who planted the guest cookie is not logged in.
  expect((await request(callback).get('/').set('Cookie', replay(guest))).body.user).toBeNull()

  const logout = await request(callback).get('/logout').set('Cookie', replay(login))
  expect(logout.status).toBe(200)
  expect(logout.body.user).toBeNull()
  expect(cookieId(logout)).not.toBe(loggedIn)
  expect(await holds('RedisStore', loggedIn)).toBe(false)
  const stolen = await request(callback).get('/').set('Cookie', replay(login))
  expect(stolen.body.user).toBeNull()
  expect(stolen.body.id).not.toBe(loggedIn)
})
