// koa-session 7's behaviour where ours used to differ without saying so, and the first hour of a new
// user: misspelled options, a sameSite 'none' cookie over http, an unreachable Redis.
import { inspect } from 'node:util'
import Koa from 'koa'
import request from 'supertest'
import { afterEach, describe, expect, inject, it, vi } from 'vitest'
import { type KoaSessionStore, MemoryStore, RedisStore, SessionError, session } from '../src/index.js'
import { cookieHeader, cookiesOf, makeApp, testStore } from './helpers.js'
import { freePort, sendCommand } from './redis-servers.js'

const counter: Koa.Middleware = (ctx) => {
  if (ctx.path === '/increment') ctx.session.views = ((ctx.session.views as number | undefined) ?? 0) + 1
  ctx.body = { views: ctx.session.views ?? null }
}

/** The expiry of the session cookie a response set, ms. */
const expiresOf = (res: request.Response): number =>
  Date.parse(
    /expires=([^;]+)/.exec(String((res.headers['set-cookie'] as unknown as string[])[0]))?.[1] as string,
  )

afterEach(() => {
  vi.useRealTimers()
})

describe('koa-session 7 behaviour', () => {
  it('session: a changed session sends its cookie again, with an expiry that follows activity', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const app = makeApp({ store: new MemoryStore(), maxAge: 60_000 }, counter)
    const first = await request(app.callback()).get('/increment')
    vi.setSystemTime(Date.now() + 1_100)
    const second = await request(app.callback()).get('/increment').set('Cookie', cookieHeader(first))
    expect(second.body).toEqual({ views: 2 })
    expect(cookiesOf(second)['koa.sess']).toBe(cookiesOf(first)['koa.sess'])
    expect(expiresOf(second)).toBeGreaterThanOrEqual(expiresOf(first) + 1_000)
  })

  it('session: what the app changed before a downstream error that upstream catches is saved', async () => {
    const store = testStore()
    const app = new Koa()
    app.keys = ['k']
    app.use(async (ctx, next) => {
      try {
        await next()
      } catch (err) {
        ctx.status = (err as { status?: number }).status ?? 500
        ctx.body = 'handled'
      }
    })
    app.use(session({ store }, app))
    app.use((ctx) => {
      ctx.session.flash = 'please log in'
      ctx.throw(401)
    })
    const res = await request(app.callback()).get('/')
    expect(res.status).toBe(401)
    const id = cookiesOf(res)['koa.sess'] as string
    expect(id).toBeTruthy()
    expect(await sendCommand(inject('redisPort'), ['HGET', store.key(id), 'flash'])).toBe('"please log in"')
    await store.clear()
    await store.close()
  })

  for (const kind of ['plain store', 'ContextStore'] as const) {
    it(`session: renew with a koa-session ${kind} sends the cookie again only when half its life is gone`, async () => {
      vi.useFakeTimers({ toFake: ['Date'] })
      const map = new Map<string, unknown>()
      const set = vi.fn((key: string, sess: unknown) => void map.set(key, sess))
      const plain: KoaSessionStore = {
        get: (key) => map.get(key),
        set,
        destroy: (key) => void map.delete(key),
      }
      const options =
        kind === 'plain store'
          ? { store: plain }
          : {
              ContextStore: class {
                get = plain.get
                set = plain.set
                destroy = plain.destroy
              },
            }
      const app = makeApp({ ...options, renew: true, maxAge: 60_000 }, counter)
      const first = await request(app.callback()).get('/increment')
      expect(set).toHaveBeenCalledTimes(1)
      vi.setSystemTime(Date.now() + 10_000)
      const early = await request(app.callback()).get('/').set('Cookie', cookieHeader(first))
      expect(early.body).toEqual({ views: 1 })
      expect(early.headers['set-cookie']).toBeUndefined()
      expect(set).toHaveBeenCalledTimes(1)
      vi.setSystemTime(Date.now() + 25_000)
      const due = await request(app.callback()).get('/').set('Cookie', cookieHeader(first))
      expect(cookiesOf(due)['koa.sess']).toBe(cookiesOf(first)['koa.sess'])
      expect(set).toHaveBeenCalledTimes(2)
    })
  }

  it('session: ctx.session in a middleware mounted before session() is a SessionError saying so', async () => {
    const app = new Koa()
    app.keys = ['k']
    app.silent = true
    const errors: unknown[] = []
    app.on('error', (err) => errors.push(err))
    app.use((ctx, next) => {
      ctx.body = ctx.session
      return next()
    })
    app.use(session({ store: new MemoryStore() }, app))
    expect((await request(app.callback()).get('/')).status).toBe(500)
    expect(SessionError.is(errors[0])).toBe(true)
    expect(String(errors[0])).toMatch(/mount session\(\) before the middleware that uses it/)
  })

  it('session: a custom genid runs before the app, so the id it records is the one the response carries', async () => {
    let n = 0
    const app = makeApp(
      {
        store: new MemoryStore(),
        genid: (ctx) => {
          ctx.state.genid = `custom-id-${String(++n).padStart(8, '0')}`
          return ctx.state.genid
        },
      },
      (ctx) => {
        ctx.body = { recorded: ctx.state.genid ?? null }
        ctx.session.views = 1
      },
    )
    const res = await request(app.callback()).get('/')
    expect(res.body.recorded).toBe('custom-id-00000001')
    expect(cookiesOf(res)['koa.sess']).toBe('custom-id-00000001')
  })

  it('session: util.inspect, console.log and inspect() show the data', async () => {
    const app = makeApp({ store: new MemoryStore() }, (ctx) => {
      ctx.session.views = 3
      ctx.body = {
        util: inspect(ctx.session),
        deep: inspect(ctx.session, { depth: 10, showHidden: true }),
        method: ctx.session.inspect(),
      }
    })
    const res = await request(app.callback()).get('/')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ util: '{ views: 3 }', deep: '{ views: 3 }', method: { views: 3 } })
  })
})

describe('koa-session 7 members', () => {
  it('session: ctx.session.externalKey is the id the response carries; data cannot shadow it', async () => {
    const seen: unknown[] = []
    const app = makeApp({ store: new MemoryStore() }, (ctx) => {
      if (ctx.path === '/shadow') ctx.session = { externalKey: 'attacker-chosen', views: 1 }
      else ctx.session.views = 1
      seen.push(ctx.session.externalKey, ctx.sessionId)
      ctx.body = 'ok'
    })
    const res = await request(app.callback()).get('/')
    const id = cookiesOf(res)['koa.sess']
    expect(seen).toEqual([id, id])
    seen.length = 0
    const shadowed = await request(app.callback()).get('/shadow').set('Cookie', cookieHeader(res))
    expect(seen).toEqual([id, id])
    expect(shadowed.status).toBe(200)
  })

  it('session(...).store: the store that store options created, which closes (so a script can exit)', async () => {
    const sessions = session({ store: { port: inject('redisPort'), keySchema: `handle${process.pid}:` } })
    expect(sessions.store).toBeInstanceOf(RedisStore)
    const store = sessions.store as RedisStore
    await store.ready()
    await store.close()
    await expect(store.ready()).rejects.toThrow(SessionError)
    const memory = new MemoryStore()
    expect(session({ store: memory }).store).toBe(memory)
  })
})

describe('a first hour without surprises', () => {
  it('session: misspelled options are refused with the closest name', () => {
    const store = new MemoryStore()
    expect(() => session({ maxAg: 1000, store } as never)).toThrow(
      /`maxAg` is not an option \(did you mean `maxAge`\?\), received 1000/,
    )
    expect(() => session({ store: { prot: 6380 } } as never)).toThrow(
      /`store.prot` is not an option \(did you mean `store.port`\?\)/,
    )
    expect(() => session({ store: { family: 6 } } as never)).toThrow(
      /`store.family` is not an option \(other ioredis options go under `store.options`\)/,
    )
    expect(() => session({ cookie: { sameSit: 'lax' }, store } as never)).toThrow(
      /`cookie.sameSit` is not an option \(did you mean `cookie.sameSite`\?\)/,
    )
    expect(() => session({ encode: JSON.stringify, store } as never)).toThrow(
      /`encode` is a koa-session option for sessions kept in the cookie/,
    )
    expect(() => new RedisStore({ keySchem: 'x' } as never)).toThrow(/did you mean `store.keySchema`/)
  })

  it("session: a sameSite 'none' cookie needs secure: true at session(...), naming the option as written", async () => {
    expect(() => session({ sameSite: 'none', secure: false, store: new MemoryStore() })).toThrow(
      /`secure` cannot be false with sameSite 'none'/,
    )
    expect(() => session({ cookie: { sameSite: 'none', secure: false }, store: new MemoryStore() })).toThrow(
      /`cookie.secure` cannot be false with sameSite 'none'/,
    )
    // Left to the request, every plain-http response would answer 500: refused once, at startup.
    expect(() => session({ sameSite: 'none', store: new MemoryStore() })).toThrow(
      /`sameSite` 'none' needs `secure: true` .*app.proxy = true/,
    )
    const app = makeApp({ sameSite: 'none', secure: true, store: new MemoryStore() }, counter)
    const errors: unknown[] = []
    app.on('error', (err) => errors.push(err))
    const plain = await request(app.callback()).get('/increment')
    expect(plain.status).toBe(500)
    expect(plain.headers['set-cookie']).toBeUndefined()
    expect(String(errors[0])).toMatch(/a Secure cookie cannot be sent on this plain-http request/)
    app.proxy = true
    const proxied = await request(app.callback()).get('/increment').set('X-Forwarded-Proto', 'https')
    expect(proxied.status).toBe(200)
    expect(String(proxied.headers['set-cookie'])).toMatch(/samesite=none/)
    expect(String(proxied.headers['set-cookie'])).toMatch(/secure/)
  })

  it('RedisStore.ready: resolves once Redis answers; rejects naming the address and the cause', async () => {
    const up = new RedisStore({ port: inject('redisPort') })
    await expect(up.ready()).resolves.toBeUndefined()
    await up.close()
    const port = await freePort()
    const down = new RedisStore({ url: `redis://:hunter2@127.0.0.1:${port}/2`, timeout: 300 })
    const err = await down.ready().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(SessionError.is(err)).toBe(true)
    const message = String((err as Error).message)
    expect(message).toMatch(
      new RegExp(`Redis at redis://127\\.0\\.0\\.1:${port}/2 (failed|cannot be reached) .*while connecting`),
    )
    expect(message).toMatch(/ECONNREFUSED/)
    expect(message).not.toMatch(/hunter2/)
    // One code for a Redis that is down, and never the client option that is not the fix.
    expect((err as SessionError).code).toBe('STORE_UNAVAILABLE')
    expect(message).not.toMatch(/maxRetriesPerRequest|max retries/)
    await down.close()
  })

  it('session: a request against an unreachable Redis answers 503, its error naming the address and the cause', async () => {
    const port = await freePort()
    const store = new RedisStore({ port, timeout: 300 })
    const app = makeApp({ store }, counter)
    const errors: unknown[] = []
    app.on('error', (err) => errors.push(err))
    const res = await request(app.callback()).get('/increment')
    expect(res.status).toBe(503)
    expect(String(errors[0])).toMatch(new RegExp(`Redis at 127\\.0\\.0\\.1:${port} `))
    expect(String(errors[0])).toMatch(/ECONNREFUSED|did not answer/)
    await store.close()
  })
})
