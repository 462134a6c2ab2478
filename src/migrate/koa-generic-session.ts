/** The koa-generic-session 2 layout: a JSON string at `prefix + sid`, with the cookie's options in a `cookie` object. */
import { type Layout, type OldSession, parseOld, withoutPrivate } from './layout.js'

/** uid-safe(24): 24 random bytes, base64url without padding. */
const ID = /^[A-Za-z0-9_-]{32}$/

/** The `cookie` object (httpOnly, path, maxAge, expires, ...) is the middleware's, not session data. */
export const koaGenericSession: Layout = {
  prefix: 'koa:sess:',
  cookie: 'koa.sid',
  signed: true,
  id: ID,
  prefixOf: (prefix) => prefix,
  read(raw: string, now: number): OldSession {
    const data = parseOld(raw)
    if (typeof data === 'string') return { kind: 'invalid', reason: data }
    const cookie = data.cookie
    // koa-generic-session stores its cookie's options in every value: without them it is not one of its.
    if (typeof cookie !== 'object' || cookie === null || Array.isArray(cookie)) {
      return { kind: 'invalid', reason: 'not a koa-generic-session value' }
    }
    // `expires` is a Date serialized by JSON.stringify (an ISO string); koa-redis set the TTL from it.
    const at = (cookie as { expires?: unknown } | undefined)?.expires
    const expires = typeof at === 'string' || typeof at === 'number' ? new Date(at).getTime() : undefined
    if (expires !== undefined && Number.isNaN(expires))
      return { kind: 'invalid', reason: 'bad cookie.expires' }
    if (expires !== undefined && expires <= now) return { kind: 'expired' }
    return { kind: 'session', data: withoutPrivate(data, ['cookie']), expires }
  },
}
