// The logout resurrection bug: a request still in flight when its session is destroyed, regenerated or
// revoked must not bring it back (nor its data, nor its index entry) when it finishes.
import type http from 'node:http'
import request from 'supertest'
import { afterEach, expect, inject, it } from 'vitest'
import { MemoryStore, type SessionOptions, type SessionStore } from '../../src/index.js'
import { RedisStore } from '../../src/store/redis.js'
import {
  closeRigs,
  cookieId,
  dump,
  gate,
  keysUnder,
  listen,
  makeApp,
  replay,
  schema,
  sess,
  until,
} from './support.js'

const port = inject('redisPort')

interface Rig {
  store: SessionStore
  server: http.Server
  /** Requests parked in their handler, by name, until the test opens their gate. */
  gates: Map<string, ReturnType<typeof gate>>
  parked: Set<string>
  /** Every key (Redis) or the number of sessions (memory) left in the store. */
  leftovers(): Promise<unknown>
  /** Everything stored, as text, to search for data that must be gone (Redis; memory gives only a count). */
  contents(): Promise<string>
}

const rigs: Rig[] = []
afterEach(async () => {
  await closeRigs(rigs.splice(0))
})

async function rig(kind: 'RedisStore' | 'MemoryStore', options: Partial<SessionOptions> = {}): Promise<Rig> {
  const ks = schema('resurrection')
  const store = kind === 'RedisStore' ? new RedisStore({ port, keySchema: ks }) : new MemoryStore()
  const gates = new Map<string, ReturnType<typeof gate>>()
  const parked = new Set<string>()
  const { app } = makeApp({ store, userId: (s) => s.user as string | undefined, ...options }, async (ctx) => {
    const name = String(ctx.query.gate ?? '')
    if (name) {
      // The session is loaded by now (not lazy): hold the request here.
      const s = sess(ctx)
      void s.secret
      parked.add(name)
      await gates.get(name)?.promise
    }
    const s = sess(ctx)
    switch (ctx.path) {
      case '/create':
        s.secret = 'SECRET-DATA'
        s.keep = 1
        if (ctx.query.user) s.user = ctx.query.user
        break
      case '/write':
        s.late = 'LATE-WRITE'
        delete s.keep
        break
      case '/save':
        s.late = 'LATE-WRITE'
        await s.save()
        break
      case '/login':
        s.user = ctx.query.user
        break
      case '/logout':
        ctx.session = null
        break
      case '/regenerate':
        await s.regenerate()
        break
      case '/read':
        break
    }
    ctx.body = { id: ctx.sessionId ?? null, data: ctx.session?.toJSON() ?? null }
  })
  const r: Rig = {
    store,
    server: await listen(app),
    gates,
    parked,
    leftovers: async () => (store instanceof RedisStore ? keysUnder(port, ks) : store.count()),
    contents: async () =>
      store instanceof RedisStore
        ? JSON.stringify(await dump(port, ks))
        : JSON.stringify(await store.count()),
  }
  rigs.push(r)
  return r
}

/** Starts request `path` with `cookie`, parked in its handler until `open()` is called. */
async function park(r: Rig, name: string, path: string, cookie: string) {
  const g = gate()
  r.gates.set(name, g)
  const pending = request(r.server)
    .get(`${path}${path.includes('?') ? '&' : '?'}gate=${name}`)
    .set('Cookie', cookie)
    .then((res) => res)
  await until(() => r.parked.has(name))
  return {
    finish: async () => {
      g.open()
      return pending
    },
  }
}

const EMPTY = { RedisStore: [], MemoryStore: 0 }

for (const kind of ['RedisStore', 'MemoryStore'] as const) {
  for (const slow of ['/write', '/save'] as const) {
    it(`${kind} logout vs slow writer (${slow}): the session stays dead and no key of it remains`, async () => {
      const r = await rig(kind)
      const created = await request(r.server).get('/create?user=ivy')
      const a = await park(r, 'a', slow, replay(created))
      const logout = await request(r.server).get('/logout').set('Cookie', replay(created))
      expect(logout.status).toBe(200)
      expect(cookieId(logout)).toBe('')
      expect(await r.leftovers()).toEqual(EMPTY[kind])
      const late = await a.finish()
      expect(late.status).toBe(200)
      // Above all, not under the old id (the id the logged-out client and any thief still hold).
      const old = cookieId(created) as string
      if (r.store instanceof RedisStore) expect(await r.leftovers()).not.toContain(r.store.key(old))
      expect(await r.store.load(old, { now: Date.now(), ttl: 60_000, absoluteTimeout: 0 })).toBeNull()
      expect(await r.leftovers()).toEqual(EMPTY[kind])
      expect(await r.store.listSessions('ivy')).toEqual([])
      const replayed = await request(r.server).get('/read').set('Cookie', replay(created))
      expect(replayed.body.data).toEqual({})
      expect(replayed.body.id).not.toBe(cookieId(created))
      expect(await r.leftovers()).toEqual(EMPTY[kind])
    })
  }

  it(`${kind} regenerate vs slow writer: the old id stays dead and the late write lands nowhere`, async () => {
    const r = await rig(kind)
    const created = await request(r.server).get('/create')
    const old = cookieId(created) as string
    const a = await park(r, 'a', '/write', replay(created))
    const regen = await request(r.server).get('/regenerate').set('Cookie', replay(created))
    const fresh = cookieId(regen) as string
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(fresh).not.toBe(old)
    const late = await a.finish()
    expect(late.status).toBe(200)
    if (r.store instanceof RedisStore) {
      expect(await r.leftovers()).toEqual([r.store.key(fresh)])
    } else {
      expect(await r.leftovers()).toBe(1)
    }
    expect(await r.contents()).not.toContain('LATE-WRITE')
    // The old id gives a new, empty session; the new one has the data as regenerate left it.
    expect((await request(r.server).get('/read').set('Cookie', replay(created))).body.data).toEqual({})
    expect((await request(r.server).get('/read').set('Cookie', replay(regen))).body.data).toEqual({
      secret: 'SECRET-DATA',
      keep: 1,
    })
  })

  it(`${kind} destroyUserSessions vs slow writer: the revoked session and its index stay gone`, async () => {
    const r = await rig(kind)
    const created = await request(r.server).get('/create?user=carol')
    expect((await r.store.listSessions('carol')).length).toBe(1)
    const a = await park(r, 'a', '/write', replay(created))
    expect(await r.store.destroyUserSessions('carol')).toBe(1)
    expect(await r.leftovers()).toEqual(EMPTY[kind])
    const late = await a.finish()
    expect(late.status).toBe(200)
    expect(await r.leftovers()).toEqual(EMPTY[kind])
    expect(await r.store.listSessions('carol')).toEqual([])
    expect((await request(r.server).get('/read').set('Cookie', replay(created))).body.data).toEqual({})
  })

  it(`${kind} destroySession(handle) vs slow writer: the revoked session stays gone`, async () => {
    const r = await rig(kind)
    const created = await request(r.server).get('/create?user=dave')
    const [info] = await r.store.listSessions('dave')
    const a = await park(r, 'a', '/write', replay(created))
    await r.store.destroySession(info?.handle as string)
    const late = await a.finish()
    expect(late.status).toBe(200)
    expect(await r.leftovers()).toEqual(EMPTY[kind])
    expect(await r.store.listSessions('dave')).toEqual([])
  })

  for (const options of [{}, { rolling: true }, { renew: true, maxAge: 1_000 }] as const) {
    it(`${kind} logout vs slow reader ${JSON.stringify(options)}: the reader neither recreates nor touches the session`, async () => {
      const r = await rig(kind, options)
      const created = await request(r.server).get('/create?user=erin')
      const a = await park(r, 'a', '/read', replay(created))
      await request(r.server).get('/logout').set('Cookie', replay(created))
      const late = await a.finish()
      expect(late.status).toBe(200)
      expect(await r.leftovers()).toEqual(EMPTY[kind])
      expect(await r.store.listSessions('erin')).toEqual([])
    })
  }

  it(`${kind} logout vs slow request that regenerates: the logged-out data is not revived under a new id`, async () => {
    const r = await rig(kind)
    const created = await request(r.server).get('/create?user=frank')
    const a = await park(r, 'a', '/regenerate', replay(created))
    await request(r.server).get('/logout').set('Cookie', replay(created))
    const late = await a.finish()
    expect(late.status).toBe(200)
    // The user logged out; a slower request that was already in flight must not log them back in.
    expect(await r.contents()).not.toContain('SECRET-DATA')
    expect(await r.leftovers()).toEqual(EMPTY[kind])
    expect(await r.store.listSessions('frank')).toEqual([])
    const id = cookieId(late)
    if (id) {
      const after = await request(r.server).get('/read').set('Cookie', replay(late))
      expect(after.body.data).toEqual({})
    }
  })

  it(`${kind} logout vs slow request that logs in another user: the logged-out data is not carried over`, async () => {
    const r = await rig(kind)
    const created = await request(r.server).get('/create?user=gina')
    // A slow user switch on the same session (it sets only `user`), still in flight at logout.
    const a = await park(r, 'a', '/login?user=hank', replay(created))
    await request(r.server).get('/logout').set('Cookie', replay(created))
    const late = await a.finish()
    expect(late.status).toBe(200)
    expect(await r.store.listSessions('gina')).toEqual([])
    // gina logged out: her session's data must not reappear, here in a session of hank's.
    // (The handler's own view, rendered before the commit found the session gone, may still show it.)
    expect(await r.contents()).not.toContain('SECRET-DATA')
    if (cookieId(late)) {
      // Whatever session the slow request left behind (here hank's), it holds none of gina's data.
      const after = await request(r.server).get('/read').set('Cookie', replay(late))
      expect(after.body.data).not.toHaveProperty('secret')
      expect(after.body.data).not.toHaveProperty('keep')
    }
    expect((await request(r.server).get('/read').set('Cookie', replay(created))).body.data).toEqual({})
  })
}
