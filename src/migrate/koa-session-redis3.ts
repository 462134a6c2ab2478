/** The koa-session-redis3 1.x layout (Koa 1): a JSON string at `keySchema + sid`, set then EXPIREd, so maybe without TTL. */
import { type Layout, type OldSession, parseOld, withoutPrivate } from './layout.js'

/** A long puid (puid 1.0): timestamp, process, machine and counter, 24 base-36 characters. Guessable, not random. */
const ID = /^[a-z0-9]{24}$/

/**
 * 1.3.4's `Session#toJSON` drops `isNew` and keys starting with `_`; nothing else is stored beside the
 * data, and no expiry: the key has the store's `ttl` only if one was configured.
 */
export const koaSessionRedis3: Layout = {
  prefix: '',
  cookie: 'koa:sess',
  // 1.3.4 defaults `cookie.signed` to true; an app that turned it off needs `migrate.unsigned`.
  signed: true,
  id: ID,
  // 1.x appended ':' to a non-empty keySchema that lacked one.
  prefixOf: (prefix) => (prefix === '' || prefix.endsWith(':') ? prefix : `${prefix}:`),
  read(raw: string): OldSession {
    const data = parseOld(raw)
    if (typeof data === 'string') return { kind: 'invalid', reason: data }
    return { kind: 'session', data: withoutPrivate(data), expires: undefined }
  },
}
