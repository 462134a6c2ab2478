/** What both the pages and the SPA's API do with a session: count a view, end the session. */
import type { Context } from 'koa'
import type { AuthContext } from './auth.js'

/** Increments and returns the view counter of the session. */
export function countView(ctx: Context): number {
  const s = ctx.session
  if (!s) return 0
  const views = (typeof s.views === 'number' ? s.views : 0) + 1
  s.views = views
  return views
}

/**
 * Logs out and ends the session. passport's logout regenerates the session, which with this library
 * keeps the data under a new id (`regenerateKeepsData`); `ctx.session = null` destroys it instead, so
 * nothing of the logged-in session survives (the counter starts again) and the client forgets the id.
 */
export async function endSession(ctx: Context): Promise<void> {
  await (ctx as AuthContext).logout()
  ctx.session = null
}
