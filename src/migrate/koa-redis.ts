/** The koa-session 7 + koa-redis 4 layout: a JSON string at `prefix + id`, with `_expire` and `_maxAge` inside. */
import { type Layout, type OldSession, parseOld, withoutPrivate } from './layout.js'

/**
 * koa-session's ids: `randomUUID()` (lowercase, version 4), after koa-session's own `prefix` if the
 * app set one (it is part of the cookie value and so of the Redis key).
 */
const ID = /^[A-Za-z0-9_.:~-]{0,64}[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** koa-session 7 stores `_expire` (ms) and `_maxAge` beside the data, or `_session: true` for a browser-session cookie. */
export const koaRedis: Layout = {
  prefix: '',
  cookie: undefined,
  signed: true,
  id: ID,
  prefixOf: (prefix) => prefix,
  read(raw: string, now: number): OldSession {
    const data = parseOld(raw)
    if (typeof data === 'string') return { kind: 'invalid', reason: data }
    const expire = data._expire
    // koa-session writes one of the two on every value: without either, a JSON object under a matching
    // name is another app's data (the bulk command's SCAN sees every key with koa-redis's default '').
    if (expire === undefined && data._session !== true)
      return { kind: 'invalid', reason: 'not a koa-session value' }
    if (expire !== undefined && !(typeof expire === 'number' && Number.isFinite(expire))) {
      return { kind: 'invalid', reason: 'bad _expire' }
    }
    // koa-session's own check (`_expire < Date.now()`): such a session is over for it too.
    if (typeof expire === 'number' && expire <= now) return { kind: 'expired' }
    return { kind: 'session', data: withoutPrivate(data), expires: expire }
  },
}
