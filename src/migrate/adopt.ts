/** The read-through: an old library's session, found by its old id, becomes one of ours under a derived new id. */
import type { Context } from 'koa'
import { emit } from '../debug.js'
import { SessionError } from '../errors.js'
import { userTag } from '../id.js'
import { ownerOf } from '../meta.js'
import type { Resolved } from '../options.js'
import { MAX_DURATION } from '../store/lifetime.js'
import { derive, markMoved, readOld } from './old-key.js'
import type { Migration } from './options.js'

/** What the read-through needs from the request it runs in. Sessions are known by their creation time `_c`. */
export interface Adopter {
  /** Loads our session `id` into the request; resolves its `_c`, or undefined when the store does not hold it. */
  open(id: string): Promise<string | undefined>
  /** Creates our session `id` with `data`, its first TTL `ttl` ms; resolves its `_c`, or undefined (nothing written) when `id` exists. */
  create(id: string, data: Record<string, unknown>, ttl: number): Promise<string | undefined>
  /** Deletes the session this request just created under `id`, and forgets it. */
  discard(id: string): Promise<void>
}

/**
 * The old id the request's cookie carries, signed as the old app signed it and in the old library's
 * id format; undefined otherwise, before any Redis call (a guessed or forged id costs nothing).
 */
export function oldIdOf(m: Migration, ctx: Context): string | undefined {
  const value = ctx.cookies.get(m.key, { signed: m.signed })
  return value !== undefined && m.isOldId(value) ? value : undefined
}

/** A session moved here: its id (loaded into the request), and whether this call moved it (else it was moved before). */
export interface Adopted {
  id: string
  moved: boolean
}

/**
 * Moves the old session of `oldId` here, or finds it moved already. Resolves our id, which `step`
 * has loaded, or undefined when there is nothing to move (the request gets a new session).
 *
 * Steps, each safe to repeat, so a failure anywhere loses nothing and the next request finishes:
 * read the old key → create ours (refused if another request did) → replace the old key by a marker.
 * No script spans the two keys: in a Cluster they are in different slots.
 */
export async function adopt(
  m: Migration,
  o: Resolved,
  ctx: Context,
  oldId: string,
  step: Adopter,
): Promise<Adopted | undefined> {
  const key = m.prefix + oldId
  const now = Date.now()
  const { body, tag: guestTag } = derive(secretOf(ctx), m.from, oldId)
  const found = await readOld(m.old, key)
  if (found.kind === 'none') return undefined
  if (found.kind === 'moved') {
    const id = o.prefix + body + found.tag
    return (await step.open(id)) === undefined ? undefined : { id, moved: false }
  }
  if (found.kind === 'invalid') return invalid(ctx, found.reason)
  const old = m.layout.read(found.raw, now)
  if (old.kind === 'invalid') return invalid(ctx, old.reason)
  if (old.kind === 'expired') return undefined
  const { data } = old
  if (Object.keys(data).length === 0) return undefined
  if (o.valid && !o.valid(ctx, data)) return invalid(ctx, 'valid() refused')
  const ttl = remaining(now, found.pttl, old.expires, o.ttl)
  if (ttl === 0) return undefined
  let owner: string | undefined
  try {
    owner = ownerOf(o, data)
  } catch (err) {
    // An old app's serializeUser that stored an object: a miss, never a 500 on every request with the cookie.
    if (SessionError.is(err) && err.code === 'INVALID_VALUE')
      return invalid(ctx, 'userId is not a string or a number')
    throw err
  }
  const tag = owner === undefined ? guestTag : userTag(owner)
  const id = o.prefix + body + tag
  const created = await step.create(id, data, ttl).catch((err: unknown) => {
    // Over the configured `maxKeys` / `maxBytes`: refused before anything was written, a miss like any bad value.
    if (SessionError.is(err) && err.code === 'INVALID_VALUE') return null
    throw err
  })
  if (created === null) return invalid(ctx, 'over maxKeys or maxBytes')
  // Refused: another request (or the bulk command) created it first; it is the same session.
  const createdAt = created ?? (await step.open(id))
  if (createdAt === undefined) return undefined
  const before = await markMoved(m.old, key, tag, createdAt, ttl)
  if (created !== undefined && before !== undefined && before.createdAt !== createdAt) {
    // Moved by another request after this one read the old value, and ended since (a logout): what
    // this request created would bring it back. The marker of another incarnation tells.
    await step.discard(id)
    return undefined
  }
  if (created !== undefined) emit(ctx, 'session:migrated', { from: m.from })
  return { id, moved: created !== undefined }
}

/**
 * What is left of the old session's life, ms: the key's PTTL, or the expiry the value records,
 * whichever ends first; the idle timeout when it has neither (a 1.x key written without EXPIRE).
 * 0 when it is over. Capped at 400 days like every duration.
 */
export function remaining(now: number, pttl: number, expires: number | undefined, ttl: number): number {
  let left = pttl > 0 ? pttl : Number.POSITIVE_INFINITY
  if (expires !== undefined) left = Math.min(left, expires - now)
  if (left === Number.POSITIVE_INFINITY) left = ttl
  return left <= 0 ? 0 : Math.min(Math.ceil(left), MAX_DURATION)
}

/** `app.keys[0]`, the key new ids are derived with (checked at install: an array of non-empty keys). */
function secretOf(ctx: Context): string | Buffer {
  return (ctx.app.keys as unknown as (string | Buffer)[])[0] as string | Buffer
}

function invalid(ctx: Context, reason: string): undefined {
  emit(ctx, 'session:invalid', { reason: `old session: ${reason}` })
  return undefined
}
