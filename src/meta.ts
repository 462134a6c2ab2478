/** A session's metadata as the middleware decides it: its owner, the id that follows, and its lifetimes. */
import type { Context } from 'koa'
import { invalidOption } from './errors.js'
import { guestId, isWellFormedId, userHash, userTag, withTag } from './id.js'
import type { Resolved } from './options.js'
import { META, type StoredFields } from './store/types.js'

/** The hash of the session's owner as the `userId` option names it; undefined without one (a guest). */
export function ownerOf(o: Resolved, data: Record<string, unknown>): string | undefined {
  if (!o.userId) return undefined
  // An object (passport's serializeUser may store one) is refused here, at the request that made it.
  return userHash(o.userId(data), 'the value `userId` returned')
}

/**
 * A new id: `prefix` and `genid(ctx)` (or a guest id). An owner's session ends with the owner's tag,
 * so it shares the Cluster slot of the owner's index.
 */
export function newId(o: Resolved, ctx: Context, owner: string | undefined): string {
  const drawn = o.prefix + (o.genid ? o.genid(ctx) : guestId())
  const id = owner === undefined ? drawn : withTag(drawn, userTag(owner))
  if (!isWellFormedId(id, o.prefix, o.genid !== undefined)) {
    throw invalidOption('genid', 'must return 16 to 256 characters of A-Z a-z 0-9 _ . : ~ -', drawn)
  }
  return id
}

/**
 * The metadata a session is created with: its owner and user agent, the creation time (carried over
 * by `regenerate()`, so the absolute lifetime counts from the first creation), its own maxAge, and
 * with `renew` the expiry of the cookie about to be sent.
 */
export function newMeta(
  o: Resolved,
  ctx: Context,
  owner: string | undefined,
  carried: StoredFields,
  maxAge: number | 'session' | undefined,
  now: number,
): StoredFields {
  const meta: StoredFields = {}
  if (owner !== undefined) {
    meta[META.user] = owner
    const agent = ctx.get('user-agent')
    if (agent) meta[META.userAgent] = agent.slice(0, 256)
  }
  meta[META.createdAt] = carried[META.createdAt] ?? String(now)
  if (maxAge !== undefined) meta[META.maxAge] = String(maxAge)
  if (o.renew) meta[META.cookieExpires] = String(now + cookieLife(o, maxAge ?? o.maxAge))
  return meta
}

/** The server-side idle timeout: the session's own maxAge when it is a duration, else the configured one. */
export function idleTtl(o: Resolved, own: number | 'session' | undefined): number {
  return typeof own === 'number' ? own : o.ttl
}

/** How long the cookie lives, ms (a browser-session cookie: as long as the session lives on the server). */
export function cookieLife(o: Resolved, maxAge: number | 'session'): number {
  return maxAge === 'session' ? o.ttl : maxAge
}

/** With `renew`: the cookie last sent has less than half of its life left, or its expiry is unknown. */
export function renewDue(meta: StoredFields, life: number, now: number): boolean {
  const expires = Number(meta[META.cookieExpires])
  return !Number.isFinite(expires) || expires - now < life / 2
}
