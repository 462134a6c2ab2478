/** The request flow: read the id, load, attach `ctx.session`, run the app, commit. */
import type Koa from 'koa'
import type { Context, Next } from 'koa'
import { SessionError } from './errors.js'
import type { Resolved, SessionOptions } from './options.js'
import { assertKeys, assertMigrateKeys, resolveOptions } from './resolve-options.js'
import type { Session, SessionData } from './session.js'
import { RequestSession } from './state.js'
import type { KoaSessionStore, SessionStore } from './store/types.js'

const STATE = Symbol('koa-session-redis3')

type Ctx = Context & { [STATE]?: RequestSession }

/** `ctx.session` as the app sees it: our methods plus the app's typed data. */
export type SessionObject = Session & Partial<SessionData>

/**
 * The middleware `session(...)` returns, with the store it uses: the one it created from
 * `store: { ... }` options (close it at shutdown), or the one passed in; undefined with `ContextStore`.
 *
 * @example
 * const sessions = session({ store: { url: process.env.REDIS_URL } })
 * app.use(sessions)
 * process.on('SIGTERM', () => sessions.store?.close())
 */
export type SessionMiddleware = Koa.Middleware & {
  readonly store: SessionStore | KoaSessionStore | undefined
}

declare module 'koa' {
  interface DefaultContext {
    /**
     * The session of this request. Reads are typed non-null, so `ctx.session.views` compiles as
     * koa-session users write it: behind the middleware there is always a session object. The one
     * exception is the app's own doing: after `ctx.session = null` (destroyed at commit), it reads
     * `null` for the rest of the request.
     */
    get session(): SessionObject
    set session(value: Partial<SessionData> | Record<string, unknown> | null)
    /** The id this response carries (drawn now for a new session), `undefined` once destroyed. */
    readonly sessionId: string | undefined
    /** Loads the session (needed first with `lazy: true`; harmless otherwise); typed as `ctx.session`. */
    loadSession(): Promise<SessionObject>
  }
}

/**
 * Creates the session middleware. Accepts `session(opts)`, `session(opts, app)` and
 * `session(app, opts)`; pass the app to have a missing `app.keys` reported at startup.
 *
 * @example
 * app.keys = ['some secret hurr']
 * app.use(session({ store: { host: '127.0.0.1', port: 6379, ttl: 3600, keySchema: 'your:schema' } }))
 */
export function session(options?: SessionOptions, app?: Koa): SessionMiddleware
export function session(app: Koa, options?: SessionOptions): SessionMiddleware
export function session(a?: SessionOptions | Koa, b?: SessionOptions | Koa): SessionMiddleware {
  const [options, app] = isApp(a) ? [b as SessionOptions | undefined, a] : [a, b as Koa | undefined]
  const o = resolveOptions(options ?? {}, app)
  if (app) install(app, o)

  const middleware = async function session(ctx: Ctx, next: Next) {
    install(ctx.app, o)
    const state = new RequestSession(ctx, o)
    ctx[STATE] = state
    if (!o.lazy) {
      state.readId()
      await state.load()
    }
    try {
      await next()
    } catch (err) {
      // As koa-session: what the app changed before it threw is saved (a flash message set before a
      // redirect or a 401). The app's error is the one that propagates; a failing save is reported.
      if (o.autoCommit)
        await state.commit(false).catch((failure: unknown) => ctx.app.emit('error', failure, ctx))
      throw err
    }
    if (o.autoCommit) await state.commit(false)
  }
  return Object.defineProperty(middleware, 'store', {
    value: o.storeInstance,
    enumerable: true,
  }) as SessionMiddleware
}

const installed = new WeakSet<object>()

/** Defines `ctx.session`, `ctx.sessionId` and `ctx.loadSession()` once per app, on `app.context`. */
function install(app: Koa, o: Resolved): void {
  if (installed.has(app)) return
  if (o.signed) assertKeys(app)
  if (o.migrate) assertMigrateKeys(app)
  installed.add(app)
  Object.defineProperties(app.context, {
    session: {
      configurable: true,
      get(this: Ctx) {
        return state(this).get()
      },
      set(this: Ctx, value: unknown) {
        state(this).set(value)
      },
    },
    sessionId: {
      configurable: true,
      get(this: Ctx) {
        return this[STATE]?.id
      },
    },
    loadSession: {
      configurable: true,
      value: async function loadSession(this: Ctx) {
        const s = state(this)
        await s.load()
        return s.get()
      },
    },
  })
}

function state(ctx: Ctx): RequestSession {
  const s = ctx[STATE]
  if (!s) {
    throw new SessionError(
      'NOT_LOADED',
      'ctx.session is used before the session middleware ran: mount session() before the middleware that uses it',
    )
  }
  return s
}

function isApp(value: unknown): value is Koa {
  return typeof (value as Koa | undefined)?.use === 'function'
}
