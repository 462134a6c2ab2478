/** The SPA's JSON API: the same sessions as the pages, carried by the `x-session-id` header. */
import type Router from '@koa/router'
import { countView, endSession } from './actions.js'
import { type AuthContext, currentUser, verify } from './auth.js'
import { bodyOf } from './body.js'

/** Adds `GET /api/me`, `POST /api/login` and `POST /api/logout` to the demo's router; `header` carries the id. */
export function addApiRoutes(router: Router, header: string): void {
  router.get('/api/me', (ctx) => {
    // An id was sent but the session is new: the id was not adopted because it is no live session
    // (revoked from another device, logged out, expired, or forged). The SPA tells its user so.
    const staleId = ctx.get(header) !== '' && ctx.session?.isNew === true
    const views = countView(ctx)
    ctx.body = {
      views,
      user: currentUser(ctx)?.id ?? null,
      name: currentUser(ctx)?.name ?? null,
      sessionIdPrefix: ctx.sessionId?.slice(0, 8) ?? null,
      staleId,
    }
  })

  router.post('/api/login', async (ctx) => {
    // JSON only: a cross-origin JSON post needs a CORS preflight, which only the SPA's origin passes.
    if (!ctx.is('json')) return ctx.throw(415, 'send JSON: {"username": "...", "password": "..."}')
    const { username, password } = bodyOf(ctx)
    const user = verify(username, password)
    if (!user) return ctx.throw(401, 'wrong user name or password')
    await (ctx as AuthContext).login(user)
    ctx.body = { user: user.id, name: user.name, sessionIdPrefix: ctx.sessionId?.slice(0, 8) ?? null }
  })

  router.post('/api/logout', async (ctx) => {
    await endSession(ctx)
    ctx.body = { ok: true }
  })
}
