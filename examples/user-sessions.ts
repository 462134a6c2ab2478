// "Your devices": list a user's sessions, revoke one, or log out everywhere else.
import Koa from 'koa'
import session, { RedisStore } from '../src/index.js'

const store = new RedisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' })
const app = new Koa()
app.keys = [process.env.SESSION_KEY ?? 'change me']
app.use(session({ store, userId: (s) => s.user as string | undefined, absoluteTimeout: 8 * 3_600_000 }, app))
app.use(async (ctx) => {
  const user = ctx.session?.user as string | undefined
  if (ctx.path === '/login' && ctx.session) {
    ctx.session.user = String(ctx.query.name ?? 'alice') // a new id is issued: the session changed hands
    ctx.body = 'logged in'
  } else if (!user) {
    ctx.status = 401
  } else if (ctx.path === '/devices') {
    ctx.body = await store.listSessions(user)
  } else if (ctx.path === '/revoke') {
    await store.destroySession(String(ctx.query.handle))
    ctx.body = 'revoked'
  } else if (ctx.path === '/logout-others') {
    ctx.body = { revoked: await store.destroyUserSessions(user, { except: ctx.sessionId as string }) }
  }
})
app.listen(Number(process.env.PORT ?? 3000))
