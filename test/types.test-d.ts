// Type tests of the public API and of the `ctx.session` augmentation.
import type { Cluster, Redis } from 'ioredis'
import Koa from 'koa'
import type { createClient, createCluster } from 'redis'
import type { createClient as createClientV4 } from 'redis-v4'
import { describe, expectTypeOf, it } from 'vitest'
import session, {
  type CacheStats,
  type KoaSessionStore,
  MemoryStore,
  session as named,
  RedisStore,
  type SessionError,
  type SessionErrorCode,
  type SessionInfo,
  type SessionMiddleware,
  type SessionObject,
  type SessionOptions,
  type SessionStore,
} from '../src/index.js'

declare module '../src/index.js' {
  interface SessionData {
    views: number
    profile: { id: string }
    passport: { user: string }
  }
}

describe('types', () => {
  it('types: default and named exports are the same factory returning Koa middleware', () => {
    expectTypeOf(session).toEqualTypeOf(named)
    expectTypeOf(session({ store: new MemoryStore() })).toEqualTypeOf<SessionMiddleware>()
    expectTypeOf(session({ store: new MemoryStore() })).toExtend<Koa.Middleware>()
    expectTypeOf(session().store).toEqualTypeOf<SessionStore | KoaSessionStore | undefined>()
    expectTypeOf(session).toBeCallableWith(new Koa(), { maxAge: 'session' as const })
  })

  it('types: ctx.session is typed by the SessionData augmentation', () => {
    const app = new Koa()
    app.use(async (ctx) => {
      expectTypeOf(ctx.session.views).toEqualTypeOf<number | undefined>()
      expectTypeOf(ctx.session.profile).toEqualTypeOf<{ id: string } | undefined>()
      expectTypeOf(ctx.session.isNew).toEqualTypeOf<boolean>()
      expectTypeOf(ctx.sessionId).toEqualTypeOf<string | undefined>()
      ctx.session.views = 1
      // @ts-expect-error views is a number
      ctx.session.views = 'one'
      expectTypeOf(ctx.session.save).returns.toEqualTypeOf<Promise<void>>()
      expectTypeOf(ctx.session.regenerate).parameter(0).toEqualTypeOf<((err?: unknown) => void) | undefined>()
    })
  })

  it('types: ctx.session reads non-null (the README first screen), and null or an object can be assigned', () => {
    const app = new Koa()
    app.use(async (ctx) => {
      expectTypeOf(ctx.session).toEqualTypeOf<SessionObject>()
      expectTypeOf((ctx.session.views ?? 0) + 1).toEqualTypeOf<number>()
      ctx.session = { views: 2 }
      ctx.session = null
      // @ts-expect-error only an object or null replaces the session
      ctx.session = 'none'
      expectTypeOf(await ctx.loadSession()).toEqualTypeOf<SessionObject>()
    })
  })

  it('types: callbacks that receive session data see the augmented SessionData without a cast', () => {
    session({
      userId: (s) => {
        expectTypeOf(s.passport).toEqualTypeOf<{ user: string } | undefined>()
        return s.passport?.user
      },
      valid: (_ctx, s) => typeof s.views === 'number',
      beforeSave: (_ctx, s) => {
        expectTypeOf(s.views).toEqualTypeOf<number | undefined>()
        // Keys the app did not declare are still readable, as unknown.
        expectTypeOf(s.other).toEqualTypeOf<unknown>()
      },
      store: new MemoryStore(),
    })
    // @ts-expect-error userId must return a string, a number or nothing
    session({ userId: (s) => s.passport, store: new MemoryStore() })
  })

  it('types: stores and options', () => {
    expectTypeOf<RedisStore>().toExtend<KoaSessionStore>()
    expectTypeOf<MemoryStore>().toExtend<KoaSessionStore>()
    expectTypeOf(new RedisStore({ keySchema: 'a:' }).listSessions).returns.resolves.toEqualTypeOf<
      SessionInfo[]
    >()
    // Every client the README lists is accepted as it is, without a cast.
    type Client = NonNullable<ConstructorParameters<typeof RedisStore>[0]>['client']
    expectTypeOf<Redis>().toExtend<Client>()
    expectTypeOf<Cluster>().toExtend<Client>()
    expectTypeOf<ReturnType<typeof createClient>>().toExtend<Client>()
    expectTypeOf<ReturnType<typeof createCluster>>().toExtend<Client>()
    expectTypeOf<ReturnType<typeof createClientV4>>().toExtend<Client>()
    expectTypeOf(new RedisStore({ cache: { max: 100 } }).cacheStats).returns.toEqualTypeOf<
      CacheStats | undefined
    >()
    expectTypeOf<CacheStats['status']>().toEqualTypeOf<'off' | 'enabling' | 'on' | 'closed'>()
    // @ts-expect-error the cache takes only `max`
    const badCache: ConstructorParameters<typeof RedisStore>[0] = { cache: { size: 1 } }
    void badCache
    expectTypeOf<SessionError['code']>().toEqualTypeOf<SessionErrorCode>()
    expectTypeOf<SessionOptions['maxAge']>().toEqualTypeOf<number | 'session' | undefined>()
    // @ts-expect-error sameSite has a closed set of values
    const bad: SessionOptions = { sameSite: 'loose' }
    void bad
  })
})
