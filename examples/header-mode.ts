// An API for a front end on another origin: the session id travels in a signed header, not a cookie.
// Run: npx tsx examples/header-mode.ts, then: curl -i localhost:3000 -H 'x-session-id: <value from the last response>'
import { randomBytes } from 'node:crypto'
import cors from '@koa/cors'
import Koa from 'koa'
import session from 'koa-session-redis3'

const app = new Koa()
// The key that signs the cookie: set SESSION_KEY, the same on every server. Without it, a random
// key per start (safe, but every restart logs everyone out).
app.keys = [process.env.SESSION_KEY ?? randomBytes(32).toString('base64url')]
// Only the front end's origin may call this API; the session header is exposed by session() itself.
app.use(cors({ origin: process.env.SPA_ORIGIN ?? 'http://localhost:3001', allowHeaders: ['x-session-id'] }))
app.use(
  session(
    {
      store: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
      header: 'x-session-id',
      cookie: false,
    },
    app,
  ),
)
app.use((ctx) => {
  ctx.session.views = (ctx.session.views ?? 0) + 1
  ctx.body = { views: ctx.session.views }
})
app.listen(Number(process.env.PORT ?? 3000))
