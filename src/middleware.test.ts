import Koa from 'koa'
import request from 'supertest'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { cookieHeader, cookiesOf, makeApp, testStore } from '../test/helpers.js'
import { MemoryStore, SessionError, session } from './index.js'
import type { KoaSessionStore } from './store/types.js'

const stores: { close(): Promise<void> }[] = []
function redis(options: { ttl?: number } = {}) {
  const s = testStore(options)
  stores.push(s)
  return s
}
afterAll(async () => {
  for (const s of stores) await s.close()
})

const counter: Koa.Middleware = (ctx) => {
  const s = ctx.session as Record<string, unknown>
  s.views = ((s.views as number | undefined) ?? 0) + 1
  ctx.body = { views: s.views, isNew: ctx.session?.isNew }
}

describe('session: guest sessions', () => {
  it('session: a new visitor gets a Set-Cookie even when nothing is put in the session', async () => {
    const store = redis()
    const app = makeApp({ store }, (ctx) => {
      ctx.body = String(ctx.session?.isNew)
    })
    const res = await request(app.callback()).get('/')
    expect(res.text).toBe('true')
    expect(cookiesOf(res)['koa.sess']).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(cookiesOf(res)['koa.sess.sig']).toBeTruthy()
    expect(await store.count()).toBe(0)
  })

  it('session: saveUninitialized stores the empty session', async () => {
    const store = redis()
    const app = makeApp({ store, saveUninitialized: true }, (ctx) => {
      ctx.body = String(ctx.session?.isNew)
    })
    const first = await request(app.callback()).get('/')
    expect(await store.count()).toBe(1)
    const second = await request(app.callback()).get('/').set('Cookie', cookieHeader(first))
    expect(second.text).toBe('false')
  })

  it('session: an id the store does not know is never adopted', async () => {
    const store = redis()
    const app = makeApp({ store }, counter)
    const first = await request(app.callback()).get('/')
    await store.clear()
    const missed = vi.fn()
    app.on('session:missed', missed)
    const second = await request(app.callback()).get('/').set('Cookie', cookieHeader(first))
    expect(second.body).toEqual({ views: 1, isNew: true })
    expect(cookiesOf(second)['koa.sess']).not.toBe(cookiesOf(first)['koa.sess'])
    expect(missed).toHaveBeenCalledOnce()
  })

  it('session: a request that never touches the session gets no cookie and costs nothing', async () => {
    const store = new MemoryStore()
    const load = vi.spyOn(store, 'load')
    const write = vi.spyOn(store, 'write')
    const app = makeApp({ store }, (ctx) => {
      ctx.body = 'static'
    })
    const res = await request(app.callback()).get('/')
    expect(res.headers['set-cookie']).toBeUndefined()
    expect(load).not.toHaveBeenCalled()
    expect(write).not.toHaveBeenCalled()
  })
})

describe('session: counting and destroying', () => {
  it('session: counts views across requests and destroys with ctx.session = null', async () => {
    const store = redis()
    const app = makeApp({ store }, (ctx) => {
      if (ctx.path === '/logout') {
        ctx.session = null
        ctx.body = String(ctx.session)
        return
      }
      counter(ctx, async () => undefined)
    })
    const agent = request.agent(app.callback())
    expect((await agent.get('/')).body.views).toBe(1)
    expect((await agent.get('/')).body).toEqual({ views: 2, isNew: false })
    expect(await store.count()).toBe(1)
    const out = await agent.get('/logout')
    expect(out.text).toBe('null')
    expect(out.headers['set-cookie']?.[0]).toMatch(/^koa\.sess=;.*expires=Thu, 01 Jan 1970/)
    expect(out.headers['set-cookie']?.[1]).toMatch(/^koa\.sess\.sig=;.*expires=Thu, 01 Jan 1970/)
    expect(await store.count()).toBe(0)
    expect((await agent.get('/')).body).toEqual({ views: 1, isNew: true })
  })

  it('session: assigning an object replaces the data and keeps the id', async () => {
    const store = new MemoryStore()
    const app = makeApp({ store }, (ctx) => {
      if (ctx.path === '/replace') ctx.session = { fresh: true }
      else if (ctx.session) ctx.session.old = 1
      ctx.body = ctx.session?.toJSON()
    })
    const first = await request(app.callback()).get('/')
    const second = await request(app.callback()).get('/replace').set('Cookie', cookieHeader(first))
    expect(second.body).toEqual({ fresh: true })
    // A saved change sends the cookie again (as koa-session does), under the same id.
    expect(cookiesOf(second)['koa.sess']).toBe(cookiesOf(first)['koa.sess'])
    const third = await request(app.callback()).get('/x').set('Cookie', cookieHeader(first))
    expect(third.body).toEqual({ fresh: true, old: 1 })
  })

  it('session: rejects assigning something other than an object or null', async () => {
    const app = makeApp({ store: new MemoryStore() }, (ctx) => {
      ;(ctx as unknown as { session: unknown }).session = 'x'
    })
    expect((await request(app.callback()).get('/')).status).toBe(500)
  })

  it('session: keys starting with _ and undefined values are not saved; deleting a key is saved', async () => {
    const app = makeApp({ store: new MemoryStore() }, (ctx) => {
      const s = ctx.session as Record<string, unknown>
      if (ctx.path === '/set') Object.assign(s, { a: 1, b: 2, _private: 3, u: undefined })
      if (ctx.path === '/del') delete s.a
      ctx.body = {
        json: ctx.session?.toJSON(),
        length: ctx.session?.length,
        populated: ctx.session?.populated,
      }
    })
    const first = await request(app.callback()).get('/set')
    expect(first.body).toEqual({ json: { a: 1, b: 2 }, length: 2, populated: true })
    await request(app.callback()).get('/del').set('Cookie', cookieHeader(first))
    const last = await request(app.callback()).get('/').set('Cookie', cookieHeader(first))
    expect(last.body.json).toEqual({ b: 2 })
  })
})

describe('session: cookie options', () => {
  it('session: defaults are httpOnly, signed, sameSite lax, path /, one day', async () => {
    const app = makeApp({ store: new MemoryStore() }, counter)
    const res = await request(app.callback()).get('/')
    const line = (res.headers['set-cookie'] as unknown as string[])[0] as string
    expect(line).toMatch(/path=\//)
    expect(line).toMatch(/samesite=lax/)
    expect(line).toMatch(/httponly/)
    expect(line).not.toMatch(/secure/)
    const expires = Date.parse(/expires=([^;]+)/.exec(line)?.[1] ?? '')
    expect(Math.abs(expires - Date.now() - 86_400_000)).toBeLessThan(5_000)
    // The signature cookie, set by us rather than by Koa, has the same attributes.
    const sig = (res.headers['set-cookie'] as unknown as string[])[1] as string
    const attrs = (cookie: string) => cookie.replace(/^[^;]*/, '').replace(/expires=[^;]*/, '')
    expect(attrs(sig)).toBe(attrs(line))
    expect(sig).toMatch(/^koa\.sess\.sig=[A-Za-z0-9_-]{27};/)
  })

  it('session: top-level and `cookie` options are honoured, `cookie` winning', async () => {
    const app = makeApp(
      {
        store: new MemoryStore(),
        key: 'sid',
        httpOnly: false,
        path: '/app',
        sameSite: 'strict',
        cookie: { domain: 'example.com', priority: 'high', sameSite: 'none', secure: true },
      },
      counter,
    )
    app.proxy = true
    const res = await request(app.callback()).get('/').set('X-Forwarded-Proto', 'https')
    const line = (res.headers['set-cookie'] as unknown as string[])[0] as string
    expect(line).toMatch(/^sid=/)
    expect(line).toMatch(/path=\/app/)
    expect(line).toMatch(/domain=example\.com/)
    expect(line).toMatch(/samesite=none/)
    expect(line).toMatch(/secure/)
    expect(line).toMatch(/priority=high/)
    expect(line).not.toMatch(/httponly/)
  })

  it('session: secure follows the request (https behind a trusted proxy)', async () => {
    const app = makeApp({ store: new MemoryStore() }, counter)
    app.proxy = true
    const secure = await request(app.callback()).get('/').set('X-Forwarded-Proto', 'https')
    expect((secure.headers['set-cookie'] as unknown as string[])[0]).toMatch(/secure/)
    app.proxy = false
    const plain = await request(app.callback()).get('/').set('X-Forwarded-Proto', 'https')
    expect((plain.headers['set-cookie'] as unknown as string[])[0]).not.toMatch(/secure/)
  })

  it("session: maxAge 'session' sends a browser-session cookie", async () => {
    const app = makeApp({ store: new MemoryStore(), maxAge: 'session' }, counter)
    const res = await request(app.callback()).get('/')
    expect((res.headers['set-cookie'] as unknown as string[])[0]).not.toMatch(/expires/)
  })

  it('session: unsigned cookies carry no .sig and key rotation keeps signed ones valid', async () => {
    const store = new MemoryStore()
    const unsigned = makeApp({ store, signed: false }, counter)
    const res = await request(unsigned.callback()).get('/')
    expect(cookiesOf(res)['koa.sess.sig']).toBeUndefined()

    const app = makeApp({ store }, counter)
    const first = await request(app.callback()).get('/')
    app.keys = ['key-two', 'key-one']
    const second = await request(app.callback()).get('/').set('Cookie', cookieHeader(first))
    expect(second.body.views).toBe(2)
    // Signed with an older key: re-signed with the newest, and kept as long as the id cookie (Koa's
    // own re-sign sets no maxAge, so the signature would end with the browser session).
    const lines = second.headers['set-cookie'] as unknown as string[]
    const sig = lines.find((l) => l.startsWith('koa.sess.sig=')) as string
    expect(sig).not.toContain(cookiesOf(first)['koa.sess.sig'] as string)
    expect(Date.parse(/expires=([^;]+)/.exec(sig)?.[1] ?? '') - Date.now()).toBeGreaterThan(86_000_000)
    expect(cookiesOf(second)['koa.sess']).toBe(cookiesOf(first)['koa.sess'])
    app.keys = ['key-two']
    const third = await request(app.callback()).get('/').set('Cookie', cookieHeader(second))
    expect(third.body.views).toBe(3)
  })

  it('session: the seed key koa:sess still works when set explicitly', async () => {
    const app = makeApp({ store: new MemoryStore(), key: 'koa:sess' }, counter)
    const agent = request.agent(app.callback())
    await agent.get('/')
    expect((await agent.get('/')).body.views).toBe(2)
  })
})

describe('session: lifetime options', () => {
  it('session: rolling sends the cookie on every response, and a read costs one store call', async () => {
    const store = new MemoryStore()
    const app = makeApp({ store, rolling: true }, (ctx) => {
      ctx.body = String(ctx.session?.views)
      if (ctx.path === '/set' && ctx.session) ctx.session.views = 1
    })
    const first = await request(app.callback()).get('/set')
    const load = vi.spyOn(store, 'load')
    const write = vi.spyOn(store, 'write')
    const second = await request(app.callback()).get('/').set('Cookie', cookieHeader(first))
    expect(cookiesOf(second)['koa.sess']).toBe(cookiesOf(first)['koa.sess'])
    expect(load).toHaveBeenCalledOnce()
    expect(write).not.toHaveBeenCalled()
  })

  it('session: without rolling an unchanged read sends no cookie; a change sends it again, same id', async () => {
    const app = makeApp({ store: new MemoryStore() }, (ctx) => {
      if (ctx.path === '/increment') ctx.session.views = ((ctx.session.views as number | undefined) ?? 0) + 1
      ctx.body = { views: ctx.session.views }
    })
    const first = await request(app.callback()).get('/increment')
    const read = await request(app.callback()).get('/').set('Cookie', cookieHeader(first))
    expect(read.body.views).toBe(1)
    expect(read.headers['set-cookie']).toBeUndefined()
    const changed = await request(app.callback()).get('/increment').set('Cookie', cookieHeader(first))
    expect(changed.body.views).toBe(2)
    expect(cookiesOf(changed)).toEqual(cookiesOf(first))
  })

  it('session: renew resends the cookie once less than half of maxAge is left', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const app = makeApp({ store: new MemoryStore(), renew: true, maxAge: 10_000 }, (ctx) => {
        ctx.body = String(ctx.session?.isNew)
        if (ctx.session) ctx.session.here = true
      })
      const first = await request(app.callback()).get('/')
      vi.advanceTimersByTime(3_000)
      const early = await request(app.callback()).get('/').set('Cookie', cookieHeader(first))
      expect(early.headers['set-cookie']).toBeUndefined()
      vi.advanceTimersByTime(3_000)
      const late = await request(app.callback()).get('/').set('Cookie', cookieHeader(first))
      expect(cookiesOf(late)['koa.sess']).toBe(cookiesOf(first)['koa.sess'])
    } finally {
      vi.useRealTimers()
    }
  })

  it('session: ctx.session.maxAge changes this session only, and is saved', async () => {
    const store = redis()
    const app = makeApp({ store }, (ctx) => {
      if (ctx.path === '/short' && ctx.session) ctx.session.maxAge = 60_000
      if (ctx.session) ctx.session.x = 1
      ctx.body = String(ctx.session?.maxAge)
    })
    const first = await request(app.callback()).get('/short')
    expect(first.text).toBe('60000')
    const line = (first.headers['set-cookie'] as unknown as string[])[0] as string
    expect(Date.parse(/expires=([^;]+)/.exec(line)?.[1] ?? '') - Date.now()).toBeLessThan(61_000)
    const second = await request(app.callback()).get('/').set('Cookie', cookieHeader(first))
    expect(second.text).toBe('60000')
  })

  it('session: the seed store.ttl (seconds) sets the Redis TTL and the cookie lifetime', async () => {
    const store = redis({ ttl: 120 })
    const app = makeApp({ store }, counter)
    const res = await request(app.callback()).get('/')
    const line = (res.headers['set-cookie'] as unknown as string[])[0] as string
    const life = Date.parse(/expires=([^;]+)/.exec(line)?.[1] ?? '') - Date.now()
    expect(life).toBeGreaterThan(110_000)
    expect(life).toBeLessThan(121_000)
  })
})

describe('session: koa-session options', () => {
  it('session: autoCommit false saves only on manuallyCommit()', async () => {
    const store = new MemoryStore()
    const app = makeApp({ store, autoCommit: false }, async (ctx) => {
      if (ctx.session) ctx.session.v = 1
      if (ctx.path === '/commit') await ctx.session?.manuallyCommit()
      ctx.body = 'ok'
    })
    await request(app.callback()).get('/')
    expect(await store.count()).toBe(0)
    const res = await request(app.callback()).get('/commit')
    expect(await store.count()).toBe(1)
    expect(cookiesOf(res)['koa.sess']).toBeTruthy()
  })

  it('session: genid and prefix make the id; ids of another shape are refused', async () => {
    let n = 0
    const app = makeApp(
      { store: new MemoryStore(), prefix: 'web:', genid: () => `custom-id-${String(++n).padStart(8, '0')}` },
      counter,
    )
    const first = await request(app.callback()).get('/')
    expect(cookiesOf(first)['koa.sess']).toBe('web:custom-id-00000001')
    expect((await request(app.callback()).get('/').set('Cookie', cookieHeader(first))).body.views).toBe(2)
    const bad = makeApp({ store: new MemoryStore(), genid: () => 'no spaces allowed here' }, counter)
    expect((await request(bad.callback()).get('/')).status).toBe(500)
  })

  it('session: valid() false treats the stored session as invalid', async () => {
    const invalid = vi.fn()
    const app = makeApp({ store: new MemoryStore(), valid: (ctx) => ctx.get('x-ok') === 'yes' }, counter)
    app.on('session:invalid', invalid)
    const first = await request(app.callback()).get('/')
    const ok = await request(app.callback()).get('/').set('Cookie', cookieHeader(first)).set('x-ok', 'yes')
    expect(ok.body.views).toBe(2)
    const refused = await request(app.callback()).get('/').set('Cookie', cookieHeader(first))
    expect(refused.body).toEqual({ views: 1, isNew: true })
    expect(invalid).toHaveBeenCalledOnce()
  })

  it('session: beforeSave runs before a save and its changes are saved', async () => {
    const store = new MemoryStore()
    const app = makeApp(
      {
        store,
        beforeSave: (_ctx, s) => {
          s.savedAt = 42
        },
      },
      counter,
    )
    const first = await request(app.callback()).get('/')
    const fields = await store.load(cookiesOf(first)['koa.sess'] as string, {
      now: Date.now(),
      ttl: 1000,
      absoluteTimeout: 0,
    })
    expect(fields).toMatchObject({ views: '1', savedAt: '42' })
  })

  it('session: externalKey carries the id instead of the cookie', async () => {
    const app = makeApp(
      {
        store: new MemoryStore(),
        externalKey: { get: (ctx) => ctx.get('x-token'), set: (ctx, v) => ctx.set('x-token', v) },
      },
      counter,
    )
    const first = await request(app.callback()).get('/')
    expect(first.headers['set-cookie']).toBeUndefined()
    const token = first.headers['x-token'] as string
    expect((await request(app.callback()).get('/').set('x-token', token)).body.views).toBe(2)
  })

  it('session: any koa-session store plugs in (koa-session format with _expire and _maxAge)', async () => {
    const map = new Map<string, Record<string, unknown>>()
    const store: KoaSessionStore = {
      get: (k) => map.get(k),
      set: (k, v) => void map.set(k, v),
      destroy: (k) => void map.delete(k),
    }
    const app = makeApp({ store }, (ctx) => {
      if (ctx.path === '/out') ctx.session = null
      else counter(ctx, async () => undefined)
    })
    const first = await request(app.callback()).get('/')
    const [stored] = [...map.values()]
    expect(stored).toMatchObject({ views: 1, _maxAge: 86_400_000 })
    expect(typeof stored?._expire).toBe('number')
    expect((await request(app.callback()).get('/').set('Cookie', cookieHeader(first))).body.views).toBe(2)
    await request(app.callback()).get('/out').set('Cookie', cookieHeader(first))
    expect(map.size).toBe(0)
  })

  it('session: ContextStore is constructed per request with ctx', async () => {
    const seen: unknown[] = []
    const map = new Map<string, Record<string, unknown>>()
    class PerRequest implements KoaSessionStore {
      constructor(ctx: unknown) {
        seen.push(ctx)
      }
      get(k: string) {
        return map.get(k)
      }
      set(k: string, v: Record<string, unknown>) {
        map.set(k, v)
      }
      destroy(k: string) {
        map.delete(k)
      }
    }
    const app = makeApp({ ContextStore: PerRequest }, counter)
    const first = await request(app.callback()).get('/')
    await request(app.callback()).get('/').set('Cookie', cookieHeader(first))
    expect(seen).toHaveLength(2)
    expect([...map.values()][0]).toMatchObject({ views: 2 })
  })

  it('session: session(app, opts) and session(opts) work like session(opts, app)', async () => {
    for (const make of [
      (app: Koa) => session(app, { store: new MemoryStore() }),
      () => session({ store: new MemoryStore() }),
    ]) {
      const app = new Koa()
      app.keys = ['k']
      app.use(make(app))
      app.use(counter)
      const agent = request.agent(app.callback())
      await agent.get('/')
      expect((await agent.get('/')).body.views).toBe(2)
    }
  })

  it('session: ctx.sessionId is the id the cookie carries', async () => {
    const app = makeApp({ store: new MemoryStore() }, (ctx) => {
      if (ctx.session) ctx.session.x = 1
      ctx.body = ctx.sessionId
    })
    const res = await request(app.callback()).get('/')
    expect(res.text).toBe(cookiesOf(res)['koa.sess'])
  })
})

describe('session: save and regenerate', () => {
  it('session: save(cb) persists before the callback; regenerate(cb) gives a new id and keeps data', async () => {
    const store = new MemoryStore()
    let countAtCallback = -1
    const app = makeApp({ store }, async (ctx) => {
      const s = ctx.session
      if (!s) return
      if (ctx.path === '/save') {
        s.user = 'alice'
        await new Promise<void>((resolve) =>
          s.save(async () => {
            countAtCallback = await store.count()
            resolve()
          }),
        )
      }
      if (ctx.path === '/regen')
        await new Promise<void>((resolve, reject) => s.regenerate((e) => (e ? reject(e) : resolve())))
      ctx.body = { user: s.user, id: ctx.sessionId }
    })
    const saved = await request(app.callback()).get('/save')
    expect(countAtCallback).toBe(1)
    const regen = await request(app.callback()).get('/regen').set('Cookie', cookieHeader(saved))
    expect(regen.body.user).toBe('alice')
    expect(regen.body.id).not.toBe(saved.body.id)
    expect(cookiesOf(regen)['koa.sess']).toBe(regen.body.id)
    const old = await request(app.callback()).get('/').set('Cookie', cookieHeader(saved))
    expect(old.body.user).toBeUndefined()
  })

  it('session: regenerateKeepsData false starts the new session empty', async () => {
    const app = makeApp({ store: new MemoryStore(), regenerateKeepsData: false }, async (ctx) => {
      if (ctx.path === '/regen') await ctx.session?.regenerate()
      else if (ctx.session) ctx.session.a = 1
      ctx.body = ctx.session?.toJSON()
    })
    const first = await request(app.callback()).get('/')
    expect((await request(app.callback()).get('/regen').set('Cookie', cookieHeader(first))).body).toEqual({})
  })
})

describe('session: lazy loading', () => {
  it('session: lazy makes no store call until ctx.loadSession()', async () => {
    const store = new MemoryStore()
    const app = makeApp({ store, lazy: true }, async (ctx) => {
      if (ctx.path === '/read') await ctx.loadSession()
      if (ctx.path === '/early') {
        ctx.body = String(ctx.session)
        return
      }
      ctx.body = ctx.path === '/read' ? String(ctx.session?.views) : 'not read'
      if (ctx.path === '/read' && ctx.session) ctx.session.views = 7
    })
    const first = await request(app.callback()).get('/read')
    const load = vi.spyOn(store, 'load')
    await request(app.callback()).get('/none').set('Cookie', cookieHeader(first))
    expect(load).not.toHaveBeenCalled()
    expect((await request(app.callback()).get('/read').set('Cookie', cookieHeader(first))).text).toBe('7')
    expect(load).toHaveBeenCalledOnce()
    expect((await request(app.callback()).get('/early').set('Cookie', cookieHeader(first))).status).toBe(500)
  })
})

describe('session: failures', () => {
  it('session: a failing store answers 503 without exposing the cause, and sets no cookie', async () => {
    const store = new MemoryStore()
    vi.spyOn(store, 'load').mockRejectedValue(new SessionError('STORE_UNAVAILABLE', 'down'))
    const app = makeApp({ store }, counter)
    const first = await request(makeApp({ store: new MemoryStore() }, counter).callback()).get('/')
    const res = await request(app.callback()).get('/').set('Cookie', cookieHeader(first))
    expect(res.status).toBe(503)
    expect(res.text).toBe('Service Unavailable')
    expect(res.headers['set-cookie']).toBeUndefined()
  })

  it('session: failOpen serves an unsaved empty session and says so', async () => {
    const store = new MemoryStore()
    vi.spyOn(store, 'load').mockRejectedValue(new SessionError('STORE_TIMEOUT', 'slow'))
    const write = vi.spyOn(store, 'write')
    const app = makeApp({ store, failOpen: true }, (ctx) => {
      ctx.body = { unavailable: ctx.session?.storeUnavailable, views: ctx.session?.views }
      if (ctx.session) ctx.session.views = 1
    })
    const first = await request(makeApp({ store: new MemoryStore() }, counter).callback()).get('/')
    const res = await request(app.callback()).get('/').set('Cookie', cookieHeader(first))
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ unavailable: true })
    expect(write).not.toHaveBeenCalled()
    expect(res.headers['set-cookie']).toBeUndefined()
  })

  it('session: corrupt stored data is a miss reported as session:invalid, not a 500', async () => {
    const store = new MemoryStore()
    const app = makeApp({ store }, counter)
    const first = await request(app.callback()).get('/')
    vi.spyOn(store, 'load').mockResolvedValue({ views: '{not json', _c: '1' })
    const invalid = vi.fn()
    app.on('session:invalid', invalid)
    const res = await request(app.callback()).get('/').set('Cookie', cookieHeader(first))
    expect(res.body).toEqual({ views: 1, isNew: true })
    expect(invalid).toHaveBeenCalledOnce()
  })
})

describe('session: configuration errors', () => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      'maxAge',
      () => session({ maxAge: -1, store: new MemoryStore() }),
      /`maxAge` must be a positive number of milliseconds, at most 400 days \(34560000000\), or 'session', received -1/,
    ],
    ['key', () => session({ key: 'a b', store: new MemoryStore() }), /`key` must be .* received "a b"/],
    [
      'rolling',
      () => session({ rolling: 'yes' as never, store: new MemoryStore() }),
      /`rolling` must be a boolean, received "yes"/,
    ],
    [
      'genid',
      () => session({ genid: 3 as never, store: new MemoryStore() }),
      /`genid` must be a function, received 3/,
    ],
    [
      'store.ttl',
      () => session({ store: { ttl: -5 } }),
      /`store.ttl` must be a positive number of SECONDS, at most 400 days \(34560000\), received -5/,
    ],
    [
      'sameSite',
      () => session({ sameSite: 'loose' as never, store: new MemoryStore() }),
      /`sameSite` must be 'lax', 'strict', 'none' or a boolean, received "loose"/,
    ],
    [
      'cookie.sameSite',
      () => session({ cookie: { sameSite: 'loose' as never }, store: new MemoryStore() }),
      /`cookie.sameSite` must be/,
    ],
    [
      'domain on a __Host- cookie, as written',
      () => session({ key: '__Host-s', domain: 'example.com', store: new MemoryStore() }),
      /`domain` must be unset for a __Host- cookie, received "example.com"/,
    ],
    [
      'absoluteTimeout',
      () => session({ absoluteTimeout: -1, store: new MemoryStore() }),
      /`absoluteTimeout`/,
    ],
    [
      'cookie false',
      () => session({ cookie: false, store: new MemoryStore() }),
      /`cookie` can be false only with/,
    ],
    [
      'store.sentinels',
      () => session({ store: { sentinels: [] } }),
      /`store.sentinels` must be a non-empty array/,
    ],
    [
      'regenerateKeepsData',
      () => session({ regenerateKeepsData: 1 as never, store: new MemoryStore() }),
      /`regenerateKeepsData` must be a boolean, received 1/,
    ],
    [
      'encryptionKeys',
      () => session({ encryptionKeys: [Buffer.alloc(16)], store: new MemoryStore() }),
      /`encryptionKeys\[0\]` must be a 32-byte Buffer/,
    ],
    ['app.keys', () => session({ store: new MemoryStore() }, new Koa()), /`app.keys` must be set/],
  ]
  for (const [name, make, message] of cases) {
    it(`session: throws at creation for a bad ${name}`, () => {
      expect(make).toThrow(message)
      try {
        make()
      } catch (err) {
        expect(SessionError.is(err) && err.code).toBe('INVALID_OPTION')
      }
    })
  }

  it('session: without app at creation, missing app.keys fails the first request clearly', async () => {
    const app = new Koa()
    app.silent = true
    let error: unknown
    app.on('error', (e) => {
      error = e
    })
    app.use(session({ store: new MemoryStore() }))
    expect((await request(app.callback()).get('/')).status).toBe(500)
    expect(String(error)).toMatch(/`app.keys` must be set/)
  })
})

describe('session: user ownership', () => {
  it("session: an id drawn before the user is known is redrawn in the user's slot (Cluster)", async () => {
    const { hashId, tagOf, userTag } = await import('./id.js')
    const app = makeApp({ store: new MemoryStore(), userId: (s) => s.user as string | undefined }, (ctx) => {
      const early = ctx.sessionId
      if (ctx.session) ctx.session.user = `user-${ctx.query.n}`
      ctx.body = { early }
    })
    for (let n = 0; n < 8; n++) {
      const res = await request(app.callback()).get(`/?n=${n}`)
      const id = cookiesOf(res)['koa.sess'] as string
      expect(tagOf(id)).toBe(userTag(hashId(`user-${n}`)))
    }
  })

  it('session: with header and cookie both on, an id is answered on the carrier it came in on', async () => {
    const app = makeApp({ store: new MemoryStore(), header: 'x-session-id' }, async (ctx) => {
      if (ctx.path === '/regen') await ctx.session?.regenerate()
      if (ctx.session) ctx.session.n = 1
      ctx.body = 'ok'
    })
    const first = await request(app.callback()).get('/')
    expect(first.headers['x-session-id']).toBeTruthy()
    expect(cookiesOf(first)['koa.sess']).toBeTruthy()
    const viaCookie = await request(app.callback()).get('/regen').set('Cookie', cookieHeader(first))
    expect(cookiesOf(viaCookie)['koa.sess']).toBeTruthy()
    expect(viaCookie.headers['x-session-id']).toBeUndefined()
    const viaHeader = await request(app.callback())
      .get('/regen')
      .set('x-session-id', first.headers['x-session-id'] as string)
    expect(viaHeader.headers['x-session-id']).toBeTruthy()
    expect(viaHeader.headers['set-cookie']).toBeUndefined()
  })
})

describe('session: destroy then create in one request', () => {
  it('session: data set after ctx.session = null starts a new session with its own lifetime', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const store = new MemoryStore()
      const app = makeApp({ store, absoluteTimeout: 60_000 }, (ctx) => {
        if (ctx.path === '/again') {
          ctx.session = null
          ctx.session = { second: true }
        } else if (ctx.session) ctx.session.first = true
        ctx.body = 'ok'
      })
      const first = await request(app.callback()).get('/')
      vi.advanceTimersByTime(50_000)
      const again = await request(app.callback()).get('/again').set('Cookie', cookieHeader(first))
      expect(cookiesOf(again)['koa.sess']).not.toBe(cookiesOf(first)['koa.sess'])
      vi.advanceTimersByTime(20_000)
      const fields = await store.load(cookiesOf(again)['koa.sess'] as string, {
        now: Date.now(),
        ttl: 60_000,
        absoluteTimeout: 60_000,
      })
      expect(fields).toMatchObject({ second: 'true' })
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('session: failOpen on save', () => {
  it('session: failOpen leaves a failed save unsaved (200, no cookie) instead of a 503', async () => {
    const store = new MemoryStore()
    vi.spyOn(store, 'write').mockRejectedValue(new SessionError('STORE_UNAVAILABLE', 'down'))
    const errors = vi.fn()
    const app = makeApp({ store, failOpen: true }, counter)
    app.on('session:error', errors)
    const res = await request(app.callback()).get('/')
    expect(res.status).toBe(200)
    expect(res.headers['set-cookie']).toBeUndefined()
    expect(errors).toHaveBeenCalledOnce()
    const closed = makeApp({ store }, counter)
    expect((await request(closed.callback()).get('/')).status).toBe(503)
  })
})

describe('session: koa-session stores', () => {
  it('session: a failing koa-session store is a 503 like a failing Redis', async () => {
    const store: KoaSessionStore = {
      get: () => Promise.reject(new Error('disk full')),
      set: () => undefined,
      destroy: () => undefined,
    }
    const first = await request(makeApp({ store: new MemoryStore() }, counter).callback()).get('/')
    const res = await request(makeApp({ store }, counter).callback())
      .get('/')
      .set('Cookie', cookieHeader(first))
    expect(res.status).toBe(503)
    expect(res.text).toBe('Service Unavailable')
  })

  it('session: encryptionKeys with a koa-session store is refused at creation', () => {
    const store: KoaSessionStore = { get: () => null, set: () => undefined, destroy: () => undefined }
    expect(() => session({ store, encryptionKeys: [Buffer.alloc(32)] })).toThrow(
      /`encryptionKeys` needs a RedisStore/,
    )
  })
})
