// Login and logout with koa-passport and passport-local. Run: npx tsx examples/passport.ts
// Then: curl -i -c jar -b jar -d 'username=alice&password=password' localhost:3000/login
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'
import { bodyParser } from '@koa/bodyparser'
import Router from '@koa/router'
import Koa from 'koa'
import passport from 'koa-passport'
import session from 'koa-session-redis3'
import { Strategy as LocalStrategy } from 'passport-local'

declare module 'koa-session-redis3' {
  interface SessionData {
    // What passport's serializeUser below stores: the user's id, a string (never the user object).
    passport: { user: string }
  }
}

interface User {
  id: string
  name: string
}

// Stand-in for your user table: store a slow hash of each password (scrypt), never the password.
const USERS = new Map<string, User & { hash: Buffer }>(
  ['alice', 'bob'].map((id) => [
    id,
    { id, name: id[0]?.toUpperCase() + id.slice(1), hash: hash(id, 'password') },
  ]),
)

function hash(id: string, password: string): Buffer {
  return scryptSync(password, `example:${id}`, 32)
}

passport.use(
  new LocalStrategy((username, password, done) => {
    const user = USERS.get(username)
    // Compare in constant time, and hash even for an unknown name, so timing does not tell names apart.
    const ok = timingSafeEqual(hash(username, password), user?.hash ?? hash('', '\0'))
    done(null, ok && user ? { id: user.id, name: user.name } : false)
  }),
)
passport.serializeUser((user, done) => done(null, (user as User).id))
passport.deserializeUser((id: string, done) => {
  const user = USERS.get(id)
  done(null, user ? { id: user.id, name: user.name } : false)
})

const app = new Koa()
// The key that signs the cookie: set SESSION_KEY, the same on every server. Without it, a random
// key per start (safe, but every restart logs everyone out).
app.keys = [process.env.SESSION_KEY ?? randomBytes(32).toString('base64url')]
app.use(bodyParser())
app.use(
  session(
    {
      store: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
      // Which user a session belongs to: enables store.listSessions(userId) (see user-sessions.ts).
      userId: (s) => s.passport?.user,
    },
    app,
  ),
)
app.use(passport.initialize())
app.use(passport.session())

const router = new Router()
router.get('/', (ctx) => {
  const user = ctx.state.user as User | undefined
  ctx.body = user ? `Hello ${user.name}` : 'Not logged in'
})
// passport's login calls ctx.session.regenerate(): a new session id, the old one dead at once.
router.post('/login', passport.authenticate('local', { successRedirect: '/', failureRedirect: '/?failed' }))
router.post('/logout', async (ctx) => {
  await ctx.logout()
  // Ends the session (store entry deleted, cookie cleared): nothing of the logged-in session survives.
  ctx.session = null
  ctx.redirect('/')
})
app.use(router.routes())
app.listen(Number(process.env.PORT ?? 3000))
