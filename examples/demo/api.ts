/** The SPA's JSON API: the same sessions as the pages, carried by the `x-session-id` header. */
import type Router from '@koa/router'
import { countView, endSession } from './actions.js'
import { type AuthContext, currentUser, verify } from './auth.js'
import { bodyOf } from './body.js'

/** Adds `GET /api/me`, `POST /api/login` and `POST /api/logout` to the demo's router. */
export function addApiRoutes(router: Router): void {
  router.get('/api/me', (ctx) => {
    const views = countView(ctx)
    ctx.body = {
      views,
      user: currentUser(ctx)?.id ?? null,
      sessionIdPrefix: ctx.sessionId?.slice(0, 8) ?? null,
    }
  })

  router.post('/api/login', async (ctx) => {
    // JSON only: a cross-origin JSON post needs a CORS preflight, which only the SPA's origin passes.
    if (!ctx.is('json')) return ctx.throw(415, 'send JSON: {"username": "...", "password": "..."}')
    const { username, password } = bodyOf(ctx)
    const user = verify(username, password)
    if (!user) return ctx.throw(401, 'wrong user name or password')
    await (ctx as AuthContext).login(user)
    ctx.body = { user: user.id, sessionIdPrefix: ctx.sessionId?.slice(0, 8) ?? null }
  })

  router.post('/api/logout', async (ctx) => {
    await endSession(ctx)
    ctx.body = { ok: true }
  })
}
