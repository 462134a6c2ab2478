// The findings of the outside review, each tried the way an attacker (or an unlucky app) would:
// failing closed, rotation races, hostile session data, throwing callbacks, secrets in errors,
// tampered metadata, weak app.keys, unstorable values, scoped revokes, cookie tossing.
import { inspect } from 'node:util'
import Koa from 'koa'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { hashId } from '../../src/id.js'
import { MemoryStore, RedisStore, SessionError, type SessionStore, session } from '../../src/index.js'
import { type RedisServer, sendCommand, startRedis } from '../redis-servers.js'
import { cookieId, gate, makeApp, replay, schema, sess } from './support.js'

const port = inject('redisPort')
const raw = (...args: (string | number)[]) => sendCommand(port, args.map(String))
const stores: SessionStore[] = []
const redisStore = (options: { port?: number; timeout?: number } = {}) => {
  const store = new RedisStore({ port, keySchema: schema('hardening'), ...options })
  stores.push(store)
  return store
}
afterAll(async () => {
  for (const store of stores) {
    await store.clear().catch(() => undefined)
    await store.close()
  }
})

describe('1. destroying and regenerating fail closed, whatever failOpen says', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(async () => {
    await server?.stop()
  })

  for (const path of ['/logout', '/regenerate'] as const) {
    it(`failOpen: ${path} with Redis down answers 503, and the server session stays usable only by its own id`, async () => {
      const store = new RedisStore({ port: server.port, timeout: 300, keySchema: 'fail-closed:' })
      stores.push(store)
      const { app } = makeApp({ store, failOpen: true }, async (ctx) => {
        if (ctx.path === '/logout') ctx.session = null
        else if (ctx.path === '/regenerate') await sess(ctx).regenerate()
        else sess(ctx).views = 1
        ctx.body = 'ok'
      })
      const created = await request(app.callback()).get('/')
      const key = store.key(cookieId(created) as string)
      expect(await sendCommand(server.port, ['EXISTS', key])).toBe(1)
      await server.kill('SIGKILL')
      const res = await request(app.callback()).get(path).set('Cookie', replay(created))
      expect(res.status).toBe(503)
      // The client is not told its session ended: it did not.
      expect(res.headers['set-cookie']).toBeUndefined()
      await server.restart()
      // With Redis back, the same logout works and the session is gone.
      expect((await request(app.callback()).get(path).set('Cookie', replay(created))).status).toBe(200)
      expect(await sendCommand(server.port, ['EXISTS', key])).toBe(0)
    })
  }

  it('failOpen: a load that works and a destroy that fails (Redis dies in between) is a 503 too', async () => {
    const store = new RedisStore({ port: server.port, timeout: 300, keySchema: 'fail-closed-mid:' })
    stores.push(store)
    const { app } = makeApp({ store, failOpen: true }, async (ctx) => {
      if (ctx.path === '/logout') {
        await server.kill('SIGKILL')
        ctx.session = null
      } else sess(ctx).views = 1
      ctx.body = 'ok'
    })
    const created = await request(app.callback()).get('/')
    expect((await request(app.callback()).get('/logout').set('Cookie', replay(created))).status).toBe(503)
    await server.restart()
  })
})

describe('2. a key rotation loses no update', () => {
  for (const kind of ['RedisStore', 'MemoryStore'] as const) {
    it(`${kind}: during a rotation, two requests changing different keys both persist`, async () => {
      const store = kind === 'RedisStore' ? redisStore() : new MemoryStore()
      const older = Buffer.alloc(32, 1)
      const newer = Buffer.alloc(32, 2)
      const gates = { a: gate(), b: gate() }
      const handler: Koa.Middleware = async (ctx) => {
        const key = ctx.query.key as 'a' | 'b' | undefined
        if (ctx.path === '/create') Object.assign(sess(ctx), { a: 0, b: 0 })
        if (key) {
          await gates[key].promise
          sess(ctx)[key] = 1
        }
        ctx.body = sess(ctx).toJSON()
      }
      const before = makeApp({ store, encryptionKeys: [older] }, handler).app
      const created = await request(before.callback()).get('/create')
      const during = makeApp({ store, encryptionKeys: [newer, older] }, handler).app
      const a = request(during.callback())
        .get('/?key=a')
        .set('Cookie', replay(created))
        .then((r) => r)
      const b = request(during.callback())
        .get('/?key=b')
        .set('Cookie', replay(created))
        .then((r) => r)
      await new Promise((resolve) => setTimeout(resolve, 50))
      gates.a.open()
      await a
      gates.b.open()
      await b
      const after = makeApp({ store, encryptionKeys: [newer] }, handler).app
      expect((await request(after.callback()).get('/').set('Cookie', replay(created))).body).toEqual({
        a: 1,
        b: 1,
      })
    })
  }
})

describe('3. session data never reaches the session object’s own members', () => {
  for (const kind of ['RedisStore', 'MemoryStore'] as const) {
    it(`${kind}: hostile keys from JSON.parse are skipped and reported, never a 500, never a lifetime`, async () => {
      const store = kind === 'RedisStore' ? redisStore() : new MemoryStore()
      const { app, events } = makeApp({ store }, (ctx) => {
        if (ctx.path === '/assign') {
          ctx.session = JSON.parse(
            '{"__proto__":{"polluted":1},"maxAge":1e15,"isNew":1,"length":2,"toJSON":3,"save":4,"constructor":5,"toString":6,"hasOwnProperty":7,"valueOf":8,"ok":1}',
          )
        }
        ctx.body = {
          data: sess(ctx).toJSON(),
          maxAge: sess(ctx).maxAge,
          proto: Object.getPrototypeOf(sess(ctx)).constructor.name,
          text: String(sess(ctx)),
          own: Object.hasOwn(sess(ctx), 'ok') && Object.hasOwn(sess(ctx), 'ok'),
        }
      })
      const res = await request(app.callback()).get('/assign')
      expect(res.status).toBe(200)
      expect(res.body).toEqual({
        data: { ok: 1 },
        maxAge: 86_400_000,
        proto: 'Session',
        text: '[object Object]',
        own: true,
      })
      expect(events.invalid).toBe(10)
      const expires = Date.parse(/expires=([^;]+)/.exec(String(res.headers['set-cookie']))?.[1] as string)
      expect(expires - Date.now()).toBeLessThanOrEqual(86_400_000)
      const again = await request(app.callback()).get('/').set('Cookie', replay(res))
      expect(again.body.data).toEqual({ ok: 1 })
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    })
  }

  it('RedisStore: hostile fields stored by someone with Redis access are skipped on load, never a 500', async () => {
    const store = redisStore()
    const { app, events } = makeApp({ store }, (ctx) => {
      if (ctx.path === '/create') sess(ctx).ok = 1
      ctx.body = { data: sess(ctx).toJSON(), maxAge: sess(ctx).maxAge }
    })
    const created = await request(app.callback()).get('/create')
    const key = store.key(cookieId(created) as string)
    await raw('HSET', key, 'maxAge', '1000000000000000', '__proto__', '{"x":1}', 'toJSON', '1', 'length', '2')
    const res = await request(app.callback()).get('/').set('Cookie', replay(created))
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ data: { ok: 1 }, maxAge: 86_400_000 })
    expect(events.invalid).toBe(4)
  })
})

describe('4. a callback that throws does not end the process', () => {
  it('session: save(cb) and regenerate(cb) callbacks that throw are reported as app errors; the server keeps serving', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      const { app, events } = makeApp({ store: new MemoryStore() }, async (ctx) => {
        sess(ctx).views = 1
        if (ctx.path === '/save')
          await new Promise<void>((resolve) =>
            sess(ctx).save(() => {
              resolve()
              throw new Error('bug in a save callback')
            }),
          )
        if (ctx.path === '/regenerate')
          await new Promise<void>((resolve) =>
            sess(ctx).regenerate(() => {
              resolve()
              throw new Error('bug in a regenerate callback')
            }),
          )
        ctx.body = 'ok'
      })
      expect((await request(app.callback()).get('/save')).status).toBe(200)
      expect((await request(app.callback()).get('/regenerate')).status).toBe(200)
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(events.errors.map((e) => (e as Error).message)).toEqual([
        'bug in a save callback',
        'bug in a regenerate callback',
      ])
      expect(unhandled).toEqual([])
      expect((await request(app.callback()).get('/')).status).toBe(200)
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})

describe('5. errors carry no session value and no id', () => {
  for (const hashIds of [true, false]) {
    it(`RedisStore (hashIds: ${hashIds}): a Redis error's message and causes hold no value, id or key`, async () => {
      const store = new RedisStore({ port, keySchema: schema('errors'), hashIds })
      stores.push(store)
      const { app, events } = makeApp({ store }, async (ctx) => {
        if (ctx.path === '/create') sess(ctx).secret = 'value-that-must-not-leak'
        else {
          // The key becomes a string between the load and the write: the write fails with WRONGTYPE.
          await raw('DEL', store.key(ctx.sessionId as string))
          await raw('SET', store.key(ctx.sessionId as string), 'x')
          sess(ctx).secret = 'another-value-that-must-not-leak'
        }
        ctx.body = 'ok'
      })
      const created = await request(app.callback()).get('/create')
      const id = cookieId(created) as string
      const res = await request(app.callback()).get('/write').set('Cookie', replay(created))
      expect(res.status).toBe(503)
      const err = events.errors[0] as SessionError
      expect(SessionError.is(err)).toBe(true)
      const shown = inspect(err, { depth: 10, showHidden: true })
      for (const secret of ['must-not-leak', id, hashId(id), store.key(id)])
        expect(shown).not.toContain(secret)
      // What the session was doing, and Redis's error code with a fixed text, stay.
      expect(err.message).toMatch(
        /failed while (saving|loading) the session: WRONGTYPE: a key holds another kind/,
      )
      expect(String((err.cause as Error)?.message)).toMatch(/^WRONGTYPE: /)
    })
  }
})

describe('6. with encryptionKeys, the metadata that sets lifetimes and ownership is authenticated', () => {
  const encryptionKeys = [Buffer.alloc(32, 7)]
  for (const [field, value] of [
    ['_c', () => String(Date.now() + 3_600_000)],
    ['_m', () => String(10 * 86_400_000)],
    ['_u', () => hashId('someone-else')],
  ] as const) {
    it(`RedisStore: a changed ${field} (someone with Redis access, no key) makes the session invalid`, async () => {
      const store = redisStore()
      const { app, events } = makeApp({ store, encryptionKeys, absoluteTimeout: 3_600_000 }, (ctx) => {
        if (ctx.path === '/create') sess(ctx).views = 1
        ctx.body = { isNew: sess(ctx).isNew }
      })
      const created = await request(app.callback()).get('/create')
      const key = store.key(cookieId(created) as string)
      expect((await request(app.callback()).get('/').set('Cookie', replay(created))).body.isNew).toBe(false)
      await raw('HSET', key, field, value())
      const res = await request(app.callback()).get('/').set('Cookie', replay(created))
      expect(res.body.isNew).toBe(true)
      expect(events.invalid).toBe(1)
    })
  }

  it('RedisStore: a changed maxAge and a logout keep the tag true; without keys nothing is tagged', async () => {
    const store = redisStore()
    const { app } = makeApp({ store, encryptionKeys, userId: (s) => s.user as string | undefined }, (ctx) => {
      if (ctx.path === '/login') sess(ctx).user = 'tagged'
      if (ctx.path === '/max-age') sess(ctx).maxAge = 120_000
      if (ctx.path === '/logout') delete sess(ctx).user
      ctx.body = { isNew: sess(ctx).isNew }
    })
    const login = await request(app.callback()).get('/login')
    for (const path of ['/max-age', '/logout', '/']) {
      expect((await request(app.callback()).get(path).set('Cookie', replay(login))).body.isNew).toBe(false)
    }
    const plain = redisStore()
    const { app: untagged } = makeApp({ store: plain }, (ctx) => {
      sess(ctx).views = 1
      ctx.body = 'ok'
    })
    const res = await request(untagged.callback()).get('/')
    expect(await raw('HEXISTS', plain.key(cookieId(res) as string), '_v')).toBe(0)
  })
})

describe('7. weak app.keys are refused', () => {
  for (const [label, keys] of [
    ["['']", ['']],
    ['[undefined]', [undefined]],
    ['[empty Buffer]', [Buffer.alloc(0)]],
    ['[42]', [42]],
    ['[]', []],
  ] as const) {
    it(`session: app.keys = ${label} is refused at session(...), naming app.keys`, () => {
      const app = new Koa()
      app.keys = keys as never
      expect(() => session({ store: new MemoryStore() }, app)).toThrow(/`app\.keys(\[0\])?` must be/)
    })
  }

  it("session: without the app at session(...), app.keys = [''] fails the first request clearly", async () => {
    const app = new Koa()
    app.keys = ['']
    app.silent = true
    const errors: unknown[] = []
    app.on('error', (err) => errors.push(err))
    app.use(session({ store: new MemoryStore() }))
    expect((await request(app.callback()).get('/')).status).toBe(500)
    expect(String(errors[0])).toMatch(/`app\.keys\[0\]` must be a non-empty string or Buffer/)
  })
})

describe('8. values that cannot be stored', () => {
  const circular: Record<string, unknown> = {}
  circular.self = circular
  let deep: unknown = 'bottom'
  for (let i = 0; i < 100_000; i++) deep = [deep]
  for (const [label, value] of [
    ['a BigInt', 10n],
    ['a circular structure', circular],
    ['nesting deeper than the stack', deep],
  ] as const) {
    it(`session: ${label} is a SessionError INVALID_VALUE naming the key, not a TypeError`, async () => {
      const { app, events } = makeApp({ store: new MemoryStore() }, (ctx) => {
        sess(ctx).fine = 1
        sess(ctx).broken = value
        ctx.body = 'ok'
      })
      expect((await request(app.callback()).get('/')).status).toBe(500)
      const err = events.errors[0] as SessionError
      expect(SessionError.is(err)).toBe(true)
      expect(err.code).toBe('INVALID_VALUE')
      expect(err.message).toMatch(/ctx\.session\.broken cannot be saved/)
    })
  }
})

describe('9. a revoke can be scoped to its user', () => {
  for (const kind of ['RedisStore', 'MemoryStore'] as const) {
    it(`${kind}.destroySession(handle, { userId }): another user's handle ends nothing`, async () => {
      const store = kind === 'RedisStore' ? redisStore() : new MemoryStore()
      const { app } = makeApp({ store, userId: (s) => s.user as string | undefined }, (ctx) => {
        sess(ctx).user = ctx.query.user
        ctx.body = 'ok'
      })
      const victim = await request(app.callback()).get('/?user=victim')
      const [handle] = (await store.listSessions('victim')).map((s) => s.handle) as [string]
      expect(await store.destroySession(handle, { userId: 'attacker' })).toBe(false)
      expect(await store.listSessions('victim')).toHaveLength(1)
      expect(await store.destroySession(handle, { userId: 'victim' })).toBe(true)
      expect(await store.listSessions('victim')).toEqual([])
      expect(await store.destroySession(store.handle(cookieId(victim) as string), { userId: 'victim' })).toBe(
        false,
      )
    })
  }
})

describe('10. cookie tossing: the __Host- prefix', () => {
  it('session: a __Host- cookie is sent Secure, Path=/, without Domain; options that would break it are refused', async () => {
    const store = new MemoryStore()
    const app = new Koa()
    app.keys = ['k']
    app.proxy = true
    app.use(session({ key: '__Host-sess', store }, app))
    app.use((ctx) => {
      ctx.session.views = 1
      ctx.body = 'ok'
    })
    const res = await request(app.callback()).get('/').set('X-Forwarded-Proto', 'https')
    const line = (res.headers['set-cookie'] as unknown as string[]).find((l) => l.startsWith('__Host-sess='))
    expect(line).toMatch(/; path=\/;/)
    expect(line).toMatch(/; secure/)
    expect(line).not.toMatch(/domain=/)
    // Named as written: top level, or under `cookie`.
    expect(() => session({ key: '__Host-sess', domain: 'example.org', store }, app)).toThrow(
      /`domain` must be unset/,
    )
    expect(() => session({ key: '__Host-sess', cookie: { domain: 'example.org' }, store }, app)).toThrow(
      /`cookie.domain` must be unset/,
    )
    expect(() => session({ key: '__Host-sess', path: '/app', store }, app)).toThrow(/`path` must be '\/'/)
    expect(() => session({ key: '__Host-sess', secure: false, store }, app)).toThrow(/`secure` must be true/)
    expect(() => session({ key: '__Secure-sess', secure: false, store }, app)).toThrow(
      /`secure` must be true/,
    )
  })

  it('session: with a plain name, a cookie planted first by a sibling subdomain wins; with __Host- it is not even read', async () => {
    const store = new MemoryStore()
    const plain = makeApp({ store }, (ctx) => {
      ctx.body = { id: ctx.sessionId, views: sess(ctx).views ?? null }
    })
    const planted = makeApp({ store }, (ctx) => {
      sess(ctx).views = 'attacker'
      ctx.body = 'ok'
    })
    const attacker = await request(planted.app.callback()).get('/')
    const victim = await request(planted.app.callback()).get('/')
    // The browser sends the planted pair (Domain=.example.org) before the victim's own.
    const tossed = `${replay(attacker)}; ${replay(victim)}`
    const res = await request(plain.app.callback()).get('/').set('Cookie', tossed)
    expect(res.body.id).toBe(cookieId(attacker))
    // Under __Host-, the only cookie read is __Host-…; a sibling cannot set one (browsers refuse it with Domain).
    const hosted = makeApp({ store, key: '__Host-sess' }, (ctx) => {
      ctx.body = { views: sess(ctx).views ?? null }
    })
    hosted.app.proxy = true
    const safe = await request(hosted.app.callback())
      .get('/')
      .set('Cookie', tossed)
      .set('X-Forwarded-Proto', 'https')
    expect(safe.body).toEqual({ views: null })
  })
})
