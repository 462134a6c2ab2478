// The apps of a migration test: the old library's app (the real koa-session / koa-generic-session + koa-redis,
// or the 1.x layout written by hand), and the same app on our middleware with `migrate`.
import Router from '@koa/router'
import type { Redis } from 'ioredis'
import Keygrip from 'keygrip'
import Koa from 'koa'
import genericSession from 'koa-generic-session'
import passport from 'koa-passport'
import redisStore from 'koa-redis'
import koaSession from 'koa-session'
import { Strategy } from 'passport-local'
import { type SessionOptions, session } from '../src/index.js'
import { RedisStore } from '../src/store/redis.js'

export const KEYS = ['migrate-key-new', 'migrate-key-old']

passport.serializeUser((user, done) => done(null, (user as { id: string }).id))
passport.deserializeUser((id: string, done) => done(null, { id }))
passport.use(
  new Strategy((username, password, done) => done(null, password === 'secret' ? { id: username } : false)),
)

/** The routes both apps serve: a visit counter, a passport login (koa-session only), and who is logged in. */
function routes(app: Koa, login: boolean): Koa {
  app.use(passport.initialize())
  app.use(passport.session())
  const router = new Router()
  router.get('/', (ctx) => {
    const s = ctx.session as Record<string, unknown>
    s.visits = ((s.visits as number | undefined) ?? 0) + 1
    ctx.body = { user: (ctx.state.user as { id: string } | undefined)?.id ?? null, visits: s.visits }
  })
  router.get('/peek', (ctx) => {
    const s = ctx.session as Record<string, unknown>
    ctx.body = { user: (ctx.state.user as { id: string } | undefined)?.id ?? null, visits: s.visits ?? null }
  })
  router.post('/logout', (ctx) => {
    ctx.session = null
    ctx.body = 'out'
  })
  if (login) {
    router.post('/login', async (ctx) => {
      const { username, password } = ctx.query as Record<string, string>
      ;(ctx.request as { body?: unknown }).body = { username, password }
      await passport.authenticate('local', async (_err: unknown, user: { id: string } | false) => {
        if (!user) {
          ctx.status = 401
          return
        }
        await ctx.login(user)
        ctx.body = 'in'
      })(ctx, async () => undefined)
    })
  } else {
    // koa-generic-session has no session.regenerate() for passport 0.7's login: store what it stores.
    router.post('/login', (ctx) => {
      ;(ctx.session as Record<string, unknown>).passport = {
        user: (ctx.query as { username: string }).username,
      }
      ctx.body = 'in'
    })
  }
  app.use(router.routes())
  return app
}

/** koa-session 7 + koa-redis 4 on `port`, its keys under the ioredis `keyPrefix`. */
export function koaSessionApp(port: number, keyPrefix: string): { app: Koa; close: () => Promise<void> } {
  const store = redisStore({ host: '127.0.0.1', port, keyPrefix })
  const app = new Koa()
  app.keys = KEYS
  app.silent = true
  app.use(koaSession({ store: store as never, maxAge: 3_600_000 }, app))
  return { app: routes(app, true), close: () => store.quit() }
}

/** koa-generic-session 2 + koa-redis 4 on `port`, with its own `prefix`. */
export function genericSessionApp(port: number, prefix: string): { app: Koa; close: () => Promise<void> } {
  const store = redisStore({ host: '127.0.0.1', port })
  const app = new Koa()
  app.keys = KEYS
  app.silent = true
  app.use(genericSession({ store, prefix, cookie: { maxAge: 3_600_000, signed: true } }))
  return { app: routes(app, false), close: () => store.quit() }
}

/** Writes a session as koa-session-redis3 1.3.4 did: SET keySchema + sid, then EXPIRE only if a ttl was configured. */
export async function write1x(
  redis: Redis,
  keySchema: string,
  sid: string,
  data: Record<string, unknown>,
  ttlSeconds?: number,
): Promise<void> {
  await redis.set(keySchema + sid, JSON.stringify(data))
  if (ttlSeconds !== undefined) await redis.expire(keySchema + sid, ttlSeconds)
}

/** A 1.x id as puid 1.0 draws it: 24 base-36 characters. */
export function puid(n: number): string {
  return `${Date.now().toString(36).padStart(8, '0')}00abc3d4e5${n.toString(36).padStart(6, '0')}`
}

/** A Cookie header for `name=value`, signed with `KEYS[0]` as Koa (Keygrip) signs. */
export function signedCookie(name: string, value: string): string {
  return `${name}=${value}; ${name}.sig=${new Keygrip(KEYS).sign(`${name}=${value}`)}`
}

/** Our app on the same Redis: RedisStore under `keySchema`, passport's user as the owner, and `migrate`. */
export function ourApp(
  port: number,
  keySchema: string,
  migrate: NonNullable<SessionOptions['migrate']>,
  extra: Partial<SessionOptions> = {},
): { app: Koa; store: RedisStore } {
  const store = (extra.store as RedisStore | undefined) ?? new RedisStore({ port, keySchema })
  const app = new Koa()
  app.keys = KEYS
  app.silent = true
  app.use(
    session(
      { userId: (s) => (s as { passport?: { user?: string } }).passport?.user, migrate, ...extra, store },
      app,
    ),
  )
  return { app: routes(app, true), store }
}
