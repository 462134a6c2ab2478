/** Debug logging: `NODE_DEBUG=koa-session-redis3`. */
import { debuglog } from 'node:util'

/** Logs only when `NODE_DEBUG` names this package; never logs ids or session data. */
export const debug = debuglog('koa-session-redis3')
