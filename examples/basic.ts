// The first screen in TypeScript, with typed session data. Run: npx tsx examples/basic.ts
import { randomBytes } from 'node:crypto'
import Koa from 'koa'
import session from 'koa-session-redis3'

// Types `ctx.session.views` (as `number | undefined`) in the whole project.
declare module 'koa-session-redis3' {
  interface SessionData {
    views: number
  }
}

const app = new Koa()
// The key that signs the cookie: set SESSION_KEY, the same on every server. Without it, a random
// key per start (safe, but every restart logs everyone out).
app.keys = [process.env.SESSION_KEY ?? randomBytes(32).toString('base64url')]
const sessions = session(
  { store: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', ttl: 3600, keySchema: 'example:' } },
  app,
)
app.use(sessions)
app.use(async (ctx) => {
  ctx.session.views = (ctx.session.views ?? 0) + 1
  ctx.body = `${ctx.session.views} views`
})
app.listen(Number(process.env.PORT ?? 3000))
