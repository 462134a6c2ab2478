// The per-user index: listSessions tells the truth after every lifecycle step, leaves no orphan keys,
// its handles are not session ids, and "log out everywhere else" keeps exactly the current session.
import type http from 'node:http'
import request from 'supertest'
import { afterEach, expect, inject, it, vi } from 'vitest'
import { MemoryStore, type SessionOptions, type SessionStore } from '../../src/index.js'
import { RedisStore } from '../../src/store/redis.js'
import {
  closeRigs,
  cookieFor,
  cookieId,
  dump,
  headerFor,
  keysUnder,
  listen,
  makeApp,
  replay,
  schema,
  sess,
  sleep,
} from './support.js'

const port = inject('redisPort')
type Kind = 'RedisStore' | 'MemoryStore'

interface Rig {
  kind: Kind
  store: SessionStore
  ks: string
  server: http.Server
  /** Keys left in Redis (all of them, index included), or the number of sessions in memory. */
  leftovers(): Promise<unknown>
}
const rigs: Rig[] = []

afterEach(async () => {
  vi.useRealTimers()
  await closeRigs(rigs.splice(0))
})

async function rig(kind: Kind, options: Partial<SessionOptions> = {}): Promise<Rig> {
  const ks = schema('user-index')
  const store = kind === 'RedisStore' ? new RedisStore({ port, keySchema: ks }) : new MemoryStore()
  const { app } = makeApp(
    { store, userId: (s) => s.user as string | undefined, header: 'x-session-id', ...options },
    async (ctx) => {
      const s = sess(ctx)
      const q = ctx.query as Record<string, string | undefined>
      if (ctx.path === '/peek') {
        // Reads the id first (e.g. to log it), then logs in: the id must still land in the user's slot.
        void ctx.sessionId
      }
      if (q.login) s.user = q.login
      if (ctx.path === '/logout') ctx.session = null
      if (ctx.path === '/forget-user') delete s.user
      if (ctx.path === '/regenerate') await s.regenerate()
      if (ctx.path === '/everywhere-else') {
        ctx.body = {
          revoked: await store.destroyUserSessions(s.user as string, { except: ctx.sessionId as string }),
        }
        return
      }
      ctx.body = {
        isNew: ctx.session?.isNew ?? null,
        id: ctx.sessionId ?? null,
        data: ctx.session?.toJSON() ?? null,
      }
    },
  )
  const r: Rig = {
    kind,
    store,
    ks,
    server: await listen(app),
    leftovers: async () => (kind === 'RedisStore' ? keysUnder(port, ks) : store.count()),
  }
  rigs.push(r)
  return r
}

const NONE = { RedisStore: [], MemoryStore: 0 }

function login(r: Rig, user: string, agent = 'agent') {
  return request(r.server).get(`/?login=${user}`).set('User-Agent', agent)
}

async function handles(r: Rig, user: string): Promise<string[]> {
  return (await r.store.listSessions(user)).map((s) => s.handle).sort()
}

for (const kind of ['RedisStore', 'MemoryStore'] as const) {
  it(`${kind} listSessions: one entry per device with times and user agent; a handle is not an id`, async () => {
    const r = await rig(kind)
    const before = Date.now()
    const phone = await login(r, 'alice', 'Phone/1.0')
    const laptop = await login(r, 'alice', 'Laptop/2.0')
    await login(r, 'bob')
    const list = await r.store.listSessions('alice')
    expect(list).toHaveLength(2)
    expect(list.map((s) => s.userAgent).sort()).toEqual(['Laptop/2.0', 'Phone/1.0'])
    for (const s of list) {
      expect(s.createdAt).toBeGreaterThanOrEqual(before)
      expect(s.createdAt).toBeLessThanOrEqual(Date.now())
      expect(s.lastSeenAt).toBeGreaterThanOrEqual(s.createdAt)
      // The id's tag, then the hash of the id.
      expect(s.handle).toMatch(/^[A-Za-z0-9_-]{46}$/)
    }
    const ids = [cookieId(phone), cookieId(laptop)] as string[]
    for (const h of list.map((s) => s.handle)) for (const id of ids) expect(h).not.toContain(id.slice(0, 40))
    expect(list.map((s) => s.handle).sort()).toEqual(ids.map((id) => r.store.handle(id)).sort())
    expect(await r.store.listSessions('nobody')).toEqual([])
  })

  it(`${kind} listSessions: regenerate replaces the handle, logout and removing the user drop it`, async () => {
    const r = await rig(kind)
    const a = await login(r, 'carol')
    const b = await login(r, 'carol')
    const c = await login(r, 'carol')
    const initial = await handles(r, 'carol')
    expect(initial).toHaveLength(3)
    const regen = await request(r.server).get('/regenerate').set('Cookie', replay(a))
    const afterRegen = await handles(r, 'carol')
    expect(afterRegen).toHaveLength(3)
    expect(afterRegen.filter((h) => !initial.includes(h))).toHaveLength(1)
    await request(r.server).get('/logout').set('Cookie', replay(b))
    expect(await handles(r, 'carol')).toHaveLength(2)
    // The user id disappears from the data (a logout that keeps the guest session).
    const forgot = await request(r.server).get('/forget-user').set('Cookie', replay(c))
    expect(forgot.body.isNew).toBe(false)
    expect(await handles(r, 'carol')).toHaveLength(1)
    await request(r.server).get('/logout').set('Cookie', replay(regen))
    expect(await r.store.listSessions('carol')).toEqual([])
    await request(r.server).get('/logout').set('Cookie', replay(c))
    expect(await r.leftovers()).toEqual(NONE[kind])
  })

  it(`${kind} destroySession(handle): the revoked device gets a fresh session at once, the other stays`, async () => {
    const r = await rig(kind)
    const a = await login(r, 'dan', 'A')
    const b = await login(r, 'dan', 'B')
    const target = (await r.store.listSessions('dan')).find((s) => s.userAgent === 'A')
    await r.store.destroySession(target?.handle as string)
    const revoked = await request(r.server).get('/').set('Cookie', replay(a))
    expect(revoked.body).toMatchObject({ isNew: true, data: {} })
    expect(cookieId(revoked)).not.toBe(cookieId(a))
    expect((await request(r.server).get('/').set('Cookie', replay(b))).body).toMatchObject({
      isNew: false,
      data: { user: 'dan' },
    })
    expect((await r.store.listSessions('dan')).map((s) => s.userAgent)).toEqual(['B'])
    // Garbage and unknown handles are ignored, not errors.
    for (const h of ['', '*', '../x', 'A'.repeat(43), 'x'.repeat(5000)]) await r.store.destroySession(h)
    expect(await r.store.listSessions('dan')).toHaveLength(1)
  })

  it(`${kind} handles are not ids: a handle sent as a signed cookie or header gives a fresh session`, async () => {
    const r = await rig(kind)
    const owner = await login(r, 'erin')
    const [info] = await r.store.listSessions('erin')
    const handle = info?.handle as string
    const viaCookie = await request(r.server).get('/').set('Cookie', cookieFor(handle))
    expect(viaCookie.body).toMatchObject({ isNew: true, data: {} })
    expect(cookieId(viaCookie)).not.toBe(handle)
    const viaHeader = await request(r.server).get('/').set('x-session-id', headerFor('x-session-id', handle))
    expect(viaHeader.body).toMatchObject({ isNew: true, data: {} })
    // The session the handle names is untouched.
    expect((await request(r.server).get('/').set('Cookie', replay(owner))).body.data).toEqual({
      user: 'erin',
    })
    expect(await handles(r, 'erin')).toEqual([handle])
  })

  it(`${kind} destroyUserSessions with except keeps exactly the current session, and no other user's`, async () => {
    const r = await rig(kind)
    const sessions = [await login(r, 'frank'), await login(r, 'frank'), await login(r, 'frank')]
    const other = await login(r, 'grace')
    const current = sessions[1] as (typeof sessions)[number]
    const res = await request(r.server).get('/everywhere-else').set('Cookie', replay(current))
    expect(res.body).toEqual({ revoked: 2 })
    const left = await r.store.listSessions('frank')
    expect(left).toHaveLength(1)
    expect((await request(r.server).get('/').set('Cookie', replay(current))).body).toMatchObject({
      isNew: false,
      data: { user: 'frank' },
    })
    for (const gone of [sessions[0], sessions[2]]) {
      expect(
        (
          await request(r.server)
            .get('/')
            .set('Cookie', replay(gone as typeof current))
        ).body.isNew,
      ).toBe(true)
    }
    expect((await request(r.server).get('/').set('Cookie', replay(other))).body.data).toEqual({
      user: 'grace',
    })
    expect(await r.store.destroyUserSessions('frank')).toBe(1)
    expect(await r.store.destroyUserSessions('grace')).toBe(1)
    expect(await r.leftovers()).toEqual(NONE[kind])
  })
}

it('RedisStore user index: expiry empties listSessions and leaves no key at all (no orphan index)', async () => {
  const r = await rig('RedisStore', { maxAge: 200 })
  await login(r, 'hana')
  await login(r, 'hana')
  expect(await r.store.listSessions('hana')).toHaveLength(2)
  const all = await dump(port, r.ks)
  // The index never outlives its sessions.
  const index = all.find((k) => k.type === 'zset')
  expect(index?.pttl).toBeGreaterThan(0)
  expect(index?.pttl).toBeLessThanOrEqual(200)
  await sleep(300)
  expect(await r.store.listSessions('hana')).toEqual([])
  expect(await keysUnder(port, r.ks)).toEqual([])
})

it('MemoryStore user index (fake clock): expiry empties listSessions', async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  const r = await rig('MemoryStore', { maxAge: 60_000 })
  await login(r, 'ivan')
  expect(await r.store.listSessions('ivan')).toHaveLength(1)
  vi.setSystemTime(new Date(Date.now() + 60_001))
  expect(await r.store.listSessions('ivan')).toEqual([])
  expect(await r.store.count()).toBe(0)
})

it('RedisStore user index: the index never lists a session that is gone (logout, revoke, destroyUserSessions)', async () => {
  const r = await rig('RedisStore')
  const a = await login(r, 'jo')
  await login(r, 'jo')
  await login(r, 'jo')
  await request(r.server).get('/logout').set('Cookie', replay(a))
  const [first] = await r.store.listSessions('jo')
  await r.store.destroySession(first?.handle as string)
  const all = await dump(port, r.ks)
  const index = all.find((k) => k.type === 'zset')
  // Members are the hashes that end the session keys (`<ks>{tag}<hash>`).
  const sessions = all.filter((k) => k.type === 'hash').map((k) => k.key.slice(r.ks.length + 5))
  expect(index?.strings).toEqual(sessions)
  expect(await r.store.destroyUserSessions('jo')).toBe(1)
  expect(await keysUnder(port, r.ks)).toEqual([])
})

it("RedisStore user index: a user's sessions share the slot tag of the user's index, even when ctx.sessionId was read before login", async () => {
  const r = await rig('RedisStore')
  await login(r, 'kim')
  // Eight times, so an id drawn outside the slot cannot pass by luck.
  for (let i = 0; i < 8; i++) await request(r.server).get('/peek?login=kim')
  const keys = await keysUnder(port, r.ks)
  const tags = new Set(keys.map((k) => /\{(...)\}/.exec(k.slice(r.ks.length))?.[1]))
  // Nine sessions and one index, all in one hash slot, so each script stays single-slot on a Cluster.
  expect(keys).toHaveLength(10)
  expect([...tags]).toHaveLength(1)
})
