// "Your devices": list the user's sessions, revoke one of them, or log out everywhere else.
// Run: npx tsx examples/user-sessions.ts (log in as in passport.ts, then GET /devices)
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'
import { bodyParser } from '@koa/bodyparser'
import Router from '@koa/router'
import Koa, { type Context } from 'koa'
import passport from 'koa-passport'
import session, { RedisStore } from 'koa-session-redis3'
import { Strategy as LocalStrategy } from 'passport-local'

declare module 'koa-session-redis3' {
  interface SessionData {
    passport: { user: string }
  }
}

// Stand-in for your user table (see passport.ts): ids and scrypt hashes of their passwords.
const USERS = new Map(['alice', 'bob'].map((id) => [id, hash(id, 'password')]))

function hash(id: string, password: string): Buffer {
  return scryptSync(password, `example:${id}`, 32)
}

passport.use(
  new LocalStrategy((username, password, done) => {
    const ok = timingSafeEqual(hash(username, password), USERS.get(username) ?? hash('', '\0'))
    done(null, ok && USERS.has(username) ? { id: username } : false)
  }),
)
passport.serializeUser((user, done) => done(null, (user as { id: string }).id))
passport.deserializeUser((id: string, done) => done(null, USERS.has(id) ? { id } : false))

// A store of your own, to list and revoke sessions; it closes its Redis connection on store.close().
const store = new RedisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' })
const app = new Koa()
// The key that signs the cookie: set SESSION_KEY, the same on every server. Without it, a random
// key per start (safe, but every restart logs everyone out).
app.keys = [process.env.SESSION_KEY ?? randomBytes(32).toString('base64url')]
app.use(bodyParser())
app.use(
  session(
    {
      store,
      userId: (s) => s.passport?.user,
      // Logged in for 8 hours at most, however active.
      absoluteTimeout: 8 * 3_600_000,
    },
    app,
  ),
)
app.use(passport.initialize())
app.use(passport.session())

/** The logged-in user's id; answers 401 for a guest. */
function userOf(ctx: Context): string {
  const user = ctx.state.user as { id: string } | undefined
  if (!user) return ctx.throw(401, 'log in first')
  return user.id
}

const router = new Router()
router.post('/login', passport.authenticate('local', { successRedirect: '/devices', failureRedirect: '/' }))
router.get('/devices', async (ctx) => {
  const sessions = await store.listSessions(userOf(ctx))
  const current = store.handle(ctx.sessionId as string)
  // A handle names a session without being its id: safe to put in a page, useless as a cookie.
  ctx.body = sessions.map((s) => ({ ...s, current: s.handle === current }))
})
router.post('/devices/revoke', async (ctx) => {
  const { handle } = ctx.request.body as { handle?: unknown }
  if (typeof handle !== 'string') return ctx.throw(400, 'send the handle of a session')
  // Scoped to the logged-in user: a handle of someone else's session revokes nothing.
  const revoked = await store.destroySession(handle, { userId: userOf(ctx) })
  if (!revoked) return ctx.throw(404, 'no such session (it ended already, or it is not yours)')
  ctx.body = { revoked }
})
router.post('/devices/logout-others', async (ctx) => {
  const revoked = await store.destroyUserSessions(userOf(ctx), { except: ctx.sessionId as string })
  ctx.body = { revoked }
})
app.use(router.routes())
app.listen(Number(process.env.PORT ?? 3000))
