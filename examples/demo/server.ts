/**
 * The demo behind `npm start`: the seed's view counter, login / logout with passport, the user's
 * sessions with revoke buttons, and a single-page app on another origin that uses the header mode.
 */
import { realpathSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import cors from '@koa/cors'
import Router from '@koa/router'
import Koa, { type Context } from 'koa'
import session, { type SessionStore } from 'koa-session-redis3'
import { countView, endSession } from './actions.js'
import { addApiRoutes } from './api.js'
import { createPassport, currentUser } from './auth.js'
import { bodyOf, bodyReader } from './body.js'
import { endedSessions, endedUser, watchEndedSessions } from './ended.js'
import { errorPages, sessionGone } from './errors.js'
import { sameOriginForms, securityHeaders } from './guards.js'
import { type Html, layout } from './html.js'
import { counterPage, loginPage, sessionsPage } from './pages.js'
import { createSpaApp } from './spa.js'
import { DEFAULT_REDIS, openStore } from './store.js'

const HOST = '127.0.0.1'
const SESSION_HEADER = 'x-session-id'
const DEMO_KEYS = ['demo key: set SESSION_KEYS in anything but a demo']

/** Options of {@link createDemoApp}. */
export interface DemoAppOptions {
  store: SessionStore
  /** Origins allowed to call `/api` cross-origin (the SPA's). */
  spaOrigins: readonly string[]
  /** Link to the SPA in the page header. @default spaOrigins[0] */
  spaUrl?: string
  /** Koa's `app.keys`. @default SESSION_KEYS (comma-separated) or a demo key */
  keys?: string[]
}

/** Options of {@link startDemo}. */
export interface DemoOptions {
  /** The session store; without one, Redis at `redisUrl` is tried, then a MemoryStore. */
  store?: SessionStore
  /** Port of the API and pages; 0 picks a free one. @default 3000 */
  port?: number
  /** Port of the SPA; 0 picks a free one. @default 3001 */
  spaPort?: number
  /** @default process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' */
  redisUrl?: string
  keys?: string[]
  /** Where the demo prints what it does. @default console.log */
  log?: (line: string) => void
}

/** A running demo. */
export interface Demo {
  apiUrl: string
  spaUrl: string
  store: SessionStore
  app: Koa
  /** Stops both servers, and the store when `startDemo` created it. */
  close(): Promise<void>
}

/** The API and server-rendered pages, as a Koa app (no server started). */
export function createDemoApp(options: DemoAppOptions): Koa {
  const { store } = options
  const spaOrigins = new Set(options.spaOrigins)
  const spaUrl = options.spaUrl ?? options.spaOrigins[0] ?? '/'
  const app = new Koa()
  app.keys = options.keys ?? keysFromEnv() ?? DEMO_KEYS
  const passport = createPassport()
  const page = (ctx: Context, title: string, body: Html) => {
    ctx.type = 'html'
    ctx.body = layout(title, currentUser(ctx)?.name, spaUrl, body, endedUser(ctx))
  }

  app.use(securityHeaders)
  // Outermost but for the headers: a 404, a refused form or Redis down is a page in the layout.
  app.use(errorPages(page))
  // CORS for the SPA's origin only. The session middleware adds `x-session-id` to the
  // Access-Control-Expose-Headers list itself (merged with any @koa/cors sets), so it is not listed here.
  app.use(
    cors({
      origin: (ctx) =>
        ctx.path.startsWith('/api/') && spaOrigins.has(ctx.get('Origin')) ? ctx.get('Origin') : '',
      allowMethods: ['GET', 'POST'],
      allowHeaders: ['content-type', SESSION_HEADER],
      maxAge: 600,
    }),
  )
  app.use(sameOriginForms)
  app.use(bodyReader())
  app.use(
    session(
      {
        store,
        header: SESSION_HEADER,
        userId: (s) => (s.passport as { user?: string } | undefined)?.user,
        absoluteTimeout: 8 * 60 * 60 * 1000,
      },
      app,
    ),
  )
  watchEndedSessions(app)
  app.use(passport.initialize())
  app.use(passport.session())
  app.use(endedSessions())

  const router = new Router()

  router.get('/', (ctx) => page(ctx, 'Counter', counterPage(countView(ctx), currentUser(ctx)?.name)))

  router.get('/login', (ctx) => {
    const typed = typeof ctx.query.username === 'string' ? ctx.query.username.slice(0, 100) : ''
    page(ctx, 'Log in', loginPage(ctx.query.failed !== undefined, currentUser(ctx)?.name, typed))
  })
  // passport.login regenerates the session: new id, old id dead at once (session fixation).
  router.post('/login', (ctx, next) => {
    // A failed login goes back to the form with the user name that was typed (never the password).
    const { username } = bodyOf(ctx)
    const failed = `/login?${new URLSearchParams({ failed: '1', username: typeof username === 'string' ? username : '' })}`
    return passport.authenticate('local', { successRedirect: '/', failureRedirect: failed })(ctx, next)
  })

  router.post('/logout', async (ctx) => {
    await endSession(ctx)
    ctx.redirect('/')
  })

  router.get('/sessions', async (ctx) => {
    const user = currentUser(ctx)
    if (!user) return ctx.redirect('/login')
    const sessions = await store.listSessions(user.id)
    const revoked = Number(ctx.query.revoked)
    const notice =
      Number.isInteger(revoked) && revoked >= 0 && ctx.query.revoked !== undefined
        ? noticeFor(revoked)
        : undefined
    page(ctx, 'Sessions', sessionsPage(user.name, sessions, currentHandle(ctx, store), notice, Date.now()))
  })

  router.post('/sessions/revoke', async (ctx) => {
    const user = currentUser(ctx)
    if (!user) return ctx.redirect('/login')
    const { handle } = bodyOf(ctx)
    if (typeof handle !== 'string') throw sessionGone()
    if (handle === currentHandle(ctx, store)) {
      await endSession(ctx)
      return ctx.redirect('/login')
    }
    // Scoped to the user: a handle seen elsewhere cannot log someone else out.
    if (!(await store.destroySession(handle, { userId: user.id }))) throw sessionGone()
    ctx.redirect('/sessions?revoked=1')
  })

  router.post('/sessions/revoke-others', async (ctx) => {
    const user = currentUser(ctx)
    if (!user) return ctx.redirect('/login')
    const n = await store.destroyUserSessions(user.id, { except: ctx.sessionId as string })
    ctx.redirect(`/sessions?revoked=${n}`)
  })

  addApiRoutes(router, SESSION_HEADER)

  app.use(router.routes())
  app.use(router.allowedMethods())
  return app
}

/** Starts the API and the SPA servers. Port 0 picks a free port; the URLs returned are the real ones. */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const log = options.log ?? console.log
  const owned = options.store === undefined
  const store =
    options.store ?? (await openStore(options.redisUrl ?? process.env.REDIS_URL ?? DEFAULT_REDIS, log))
  const keys = options.keys ?? keysFromEnv()
  if (keys === undefined)
    log('Warning: SESSION_KEYS is not set: signing cookies with a demo key anyone can read.')

  // Listen first, so that port 0 resolves to the real ports the two apps need to know each other by.
  const servers: Server[] = []
  try {
    servers.push(await listen(options.port ?? 3000))
    servers.push(await listen(options.spaPort ?? 3001))
  } catch (err) {
    await Promise.all(servers.map(stop))
    if (owned) await store.close()
    throw err
  }
  const [apiServer, spaServer] = servers as [Server, Server]
  const apiUrl = `http://${HOST}:${port(apiServer)}`
  // Served from `localhost` while the API is on 127.0.0.1: another origin and another site, as in production.
  const spaUrl = `http://localhost:${port(spaServer)}`
  const app = createDemoApp({
    store,
    spaOrigins: [spaUrl, `http://${HOST}:${port(spaServer)}`],
    spaUrl,
    ...(keys === undefined ? {} : { keys }),
  })
  apiServer.on('request', app.callback())
  spaServer.on('request', createSpaApp(apiUrl).callback())

  return {
    apiUrl,
    spaUrl,
    store,
    app,
    async close() {
      await Promise.all([stop(apiServer), stop(spaServer)])
      if (owned) await store.close()
    },
  }
}

/** The handle `listSessions` gives the current session, to mark "this device". */
function currentHandle(ctx: Context, store: SessionStore): string {
  const id = ctx.sessionId
  return id === undefined ? '' : store.handle(id)
}

function noticeFor(n: number): string {
  return n === 0 ? 'No other session to log out.' : `Logged out ${n} other session${n === 1 ? '' : 's'}.`
}

function keysFromEnv(): string[] | undefined {
  const keys = process.env.SESSION_KEYS?.split(',').filter(Boolean)
  return keys && keys.length > 0 ? keys : undefined
}

function listen(portNumber: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(portNumber, HOST, () => resolve(server))
  })
}

function port(server: Server): number {
  return (server.address() as AddressInfo).port
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()))
    server.closeAllConnections()
  })
}

async function main(): Promise<void> {
  const demo = await startDemo({
    port: Number(process.env.PORT ?? 3000),
    spaPort: Number(process.env.SPA_PORT ?? 3001),
  })
  console.log(`Demo:     ${demo.apiUrl}  (view counter, login, sessions)`)
  console.log(`SPA:      ${demo.spaUrl}  (another origin, header mode)`)
  console.log('Users:    alice / password, bob / password. Ctrl+C stops.')
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      demo.close().then(
        () => process.exit(0),
        () => process.exit(1),
      )
    })
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}
