/**
 * Tells a visitor whose logged-in session ended elsewhere (revoked from another device, expired) so,
 * on whatever page they land, instead of quietly showing them as a guest.
 */
import type Koa from 'koa'
import type { Context, Middleware } from 'koa'
import { currentUser, nameOf } from './auth.js'

// A signed cookie naming who was logged in, so a later request can tell "your session ended" from
// "you were never logged in": once the session is gone, nothing in the store remembers the user.
const HINT = 'demo.was'
const HINT_OPTIONS = { signed: true, httpOnly: true, sameSite: 'lax', maxAge: 30 * 86_400_000 } as const

/** Marks `ctx.state.sessionNotFound` when the cookie's session is not in the store (missed) or expired. */
export function watchEndedSessions(app: Koa): void {
  for (const event of ['session:missed', 'session:expired']) {
    app.on(event, ({ ctx }: { ctx: Context }) => {
      ctx.state.sessionNotFound = true
    })
  }
}

/** The name of the user whose session just ended, if this request is the first to find it gone. */
export function endedUser(ctx: Context): string | undefined {
  return (ctx.state as { endedUser?: string }).endedUser
}

/** Mount after `passport.session()`: sets `endedUser` for the pages, and keeps the hint cookie in step. */
export function endedSessions(): Middleware {
  return async function endedSessions(ctx, next) {
    // The SPA carries its session in a header and no cookie; it says this itself (`staleId`).
    if (ctx.path.startsWith('/api/')) return next()
    const hint = ctx.cookies.get(HINT, { signed: true })
    if (hint !== undefined && currentUser(ctx) === undefined && ctx.state.sessionNotFound === true) {
      ctx.state.endedUser = nameOf(hint)
    }
    await next()
    const user = currentUser(ctx)
    if (user !== undefined) {
      if (user.id !== hint) ctx.cookies.set(HINT, user.id, HINT_OPTIONS)
    } else if (
      hint !== undefined &&
      !(endedUser(ctx) !== undefined && ctx.status >= 300 && ctx.status < 400)
    ) {
      // Said (or logged out on purpose): forget it. A redirect keeps it, so the next page says it.
      ctx.cookies.set(HINT, null, HINT_OPTIONS)
    }
  }
}
