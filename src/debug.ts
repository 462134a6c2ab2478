/** Debug logging (`NODE_DEBUG=koa-session-redis3`) and the session events the app can listen to. */
import { debuglog } from 'node:util'
import type { Context } from 'koa'

/** Logs only when `NODE_DEBUG` names this package; never logs ids or session data. */
export const debug = debuglog('koa-session-redis3')

/** Emits a session event on the app, with the request's context; logged under NODE_DEBUG first. */
export function emit(ctx: Context, event: string, detail: object): void {
  debug('%s %o', event, detail)
  ctx.app.emit(event, { ctx, ...detail })
}
