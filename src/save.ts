/** Writing a request's session to its store: a new session, or what changed of a stored one. */
import type { Context } from 'koa'
import { SessionError } from './errors.js'
import { tagOf, userTag } from './id.js'
import { cookieLife, idleTtl, newId, newMeta, ownerOf, renewDue } from './meta.js'
import type { Resolved } from './options.js'
import { clear, type Session } from './session.js'
import { type Changes, encode, type Snapshot } from './snapshot.js'
import { parseMaxAge, timestamp } from './store/lifetime.js'
import { META, type RequestStore, type Reseal, type StoredFields, type WriteOptions } from './store/types.js'

/** What a save needs from its request. */
export interface Saving {
  readonly o: Resolved
  readonly ctx: Context
  readonly store: RequestStore
  /** What the store last held; a successful write is remembered in it. */
  readonly snapshot: Snapshot
  /** `ctx.session.maxAge` as set in this request, not yet saved. */
  readonly maxAge: number | 'session' | undefined
  /**
   * A migrated session (src/migrate): created under exactly this id or not at all, and with what was
   * left of its old lifetime as the first TTL instead of the idle timeout.
   */
  readonly migrated?: { readonly ttl: number }
}

/**
 * Creates the session: under `id`, or a new id when there is none yet, when it does not end with the
 * owner's tag (drawn before the owner was known), or when it exists already. Resolves the id it got,
 * or undefined for an empty session that is not saved (unless `force` or `saveUninitialized`), or for
 * a migrated one whose id exists already.
 */
export async function createSession(
  s: Saving,
  session: Session,
  id: string | undefined,
  force: boolean,
): Promise<string | undefined> {
  const { o, snapshot } = s
  const now = Date.now()
  const carried = timestamp(snapshot.meta[META.createdAt])
  if (carried !== undefined && o.absoluteTimeout > 0 && carried + o.absoluteTimeout <= now) {
    // Regenerated after its absolute lifetime ended: nothing of it may live on.
    clear(session)
    snapshot.meta = {}
  }
  // A guest: store nothing until there is something to keep.
  if (!force && !o.saveUninitialized && Object.keys(session.toJSON()).length === 0) return undefined
  if (o.beforeSave) o.beforeSave(s.ctx, session)
  const data = session.toJSON()
  const changes = snapshot.diff(data)
  withinLimits(o, snapshot, changes)
  const owner = ownerOf(o, data)
  const own = s.maxAge ?? parseMaxAge(snapshot.meta[META.maxAge])
  const meta = newMeta(o, s.ctx, owner, snapshot.meta, own, now)
  let next = owner !== undefined && id !== undefined && tagOf(id) !== userTag(owner) ? undefined : id
  const ttl = s.migrated?.ttl ?? idleTtl(o, own)
  for (let attempt = 0; attempt < 2; attempt++) {
    const candidate = next ?? newId(o, s.ctx, owner)
    const set = encode(changes, o.codec, candidate)
    for (const field in meta) set[field] = meta[field] as string
    const tag = o.codec.tag(candidate, meta)
    if (tag !== undefined) set[META.tag] = tag
    // Spelled out, not spread: V8 made the spread of this small object cost 2.6 µs (profiled).
    const options: WriteOptions = {
      mode: 'create',
      set,
      del: [],
      now,
      ttl,
      absoluteTimeout: o.absoluteTimeout,
      maxSessionsPerUser: o.maxSessionsPerUser,
    }
    if (await s.store.write(candidate, options)) {
      snapshot.meta = tag === undefined ? meta : { ...meta, [META.tag]: tag }
      snapshot.remember(changes, set)
      return candidate
    }
    // A migrated session's id is derived from its old id: it exists because another request moved it.
    if (s.migrated) return undefined
    // The id exists already: a custom `genid` repeating itself, or a 2^-240 event. Draw once more.
    next = undefined
  }
  if (o.genid) {
    // Twice in a row an id the store holds: the app's genid repeats itself, which no retry cures.
    throw new SessionError(
      'INVALID_OPTION',
      '`genid` returned an id that exists already, twice in a row: it must return a new, unguessable id on every call',
    )
  }
  throw new SessionError('STORE_UNAVAILABLE', 'could not create a session: the new id exists already')
}

/** What an update did, and whether the cookie is due to be sent again (`renew`). */
export interface Updated {
  outcome: 'unchanged' | 'written' | 'refused'
  renew: boolean
}

/**
 * Writes what changed of the stored session `id`, or at least its metadata with `force`, a changed
 * maxAge or a due `renew`. `refused`: the session no longer exists (destroyed, regenerated or expired
 * by another request), and nothing was written.
 */
export async function updateSession(
  s: Saving,
  session: Session,
  id: string,
  force: boolean,
): Promise<Updated> {
  const { o, snapshot } = s
  const now = Date.now()
  const meta = snapshot.meta
  const own = s.maxAge ?? parseMaxAge(meta[META.maxAge])
  const life = cookieLife(o, own ?? o.maxAge)
  const renew = o.renew && renewDue(meta, life, now)
  let changes = snapshot.diff(session.toJSON())
  if (changes.size === 0 && changes.deleted.length === 0 && !force && !renew && s.maxAge === undefined) {
    if (snapshot.stale.size > 0 || snapshot.staleTag) await reseal(s, id, changes)
    return { outcome: 'unchanged', renew }
  }
  if (o.beforeSave) {
    o.beforeSave(s.ctx, session)
    changes = snapshot.diff(session.toJSON())
  }
  withinLimits(o, snapshot, changes)
  const set = encode(changes, o.codec, id)
  if (s.maxAge !== undefined) set[META.maxAge] = String(s.maxAge)
  if (renew || (o.renew && s.maxAge !== undefined)) set[META.cookieExpires] = String(now + life)
  // The owner logged out but kept the session: it leaves the owner's index.
  if (meta._u !== undefined && ownerOf(o, session.toJSON()) === undefined) changes.deleted.push(META.user)
  // The lifetime or the owner changed: their tag (with encryptionKeys) changes with them, in the same write.
  if (s.maxAge !== undefined || changes.deleted.includes(META.user)) {
    const next: StoredFields = { ...meta, ...set }
    for (const field of changes.deleted) delete next[field]
    const tag = o.codec.tag(id, next)
    if (tag !== undefined) set[META.tag] = tag
  }
  const written = await s.store.write(id, {
    mode: 'update',
    set,
    del: changes.deleted,
    now,
    ttl: idleTtl(o, own),
    absoluteTimeout: o.absoluteTimeout,
    createdAt: timestamp(meta._c) as number,
    user: meta._u,
    // Checked in Redis on every write that sets a key, also one this request's snapshot holds: another
    // request may have deleted it meanwhile and added others up to the cap, and writing it back would
    // then pass the cap, which the next load punishes by ending the session (found by a review). The
    // same for bytes: parallel requests that each add a large value within maxBytes.
    maxKeys: changes.size > 0 ? o.maxKeys : undefined,
    maxBytes: changes.size > 0 ? o.maxBytes : undefined,
    sealed: o.codec.sealed,
  })
  if (!written) return { outcome: 'refused', renew }
  snapshot.remember(changes, set)
  if (snapshot.stale.size > 0 || snapshot.staleTag) await reseal(s, id, changes)
  return { outcome: 'written', renew }
}

/** No change: the session's size as loaded. */
const UNCHANGED: Changes = Object.assign(new Map<string, string>(), { deleted: [] })

/**
 * Refuses a session beyond `maxKeys` or `maxBytes` before anything is sent: one write of 50,000 fields
 * blocked Redis for 23 ms. The message names the limit, never a key or a value. A session loaded beyond a
 * limit (lowered since, or written by another) is refused only what would grow it: a logout that
 * deletes a key still lands.
 */
function withinLimits(o: Resolved, snapshot: Snapshot, changes: Changes): void {
  if (changes.size === 0 && changes.deleted.length === 0) return
  const { keys, bytes } = snapshot.size(changes)
  if (keys <= o.maxKeys && bytes <= o.maxBytes) return
  const loaded = snapshot.size(UNCHANGED)
  if (keys > o.maxKeys && keys > loaded.keys) {
    throw new SessionError(
      'INVALID_VALUE',
      `the session cannot be saved: it has ${keys} top-level keys, over the limit \`maxKeys\` (${o.maxKeys})`,
    )
  }
  if (bytes > o.maxBytes && bytes > loaded.bytes) {
    throw new SessionError(
      'INVALID_VALUE',
      `the session cannot be saved: it holds ${bytes} bytes of JSON, over the limit \`maxBytes\` (${o.maxBytes})`,
    )
  }
}

/**
 * During a key rotation: re-seals with the newest key what an older key sealed and this request did
 * not write, each field only if the store still holds the ciphertext this request read. So two
 * requests that change different keys during a rotation both persist.
 */
async function reseal(s: Saving, id: string, changes: Changes): Promise<void> {
  const { o, snapshot } = s
  const fields: Reseal[] = []
  const deleted = new Set(changes.deleted)
  for (const [field, from] of snapshot.stale) {
    if (changes.has(field) || deleted.has(field)) continue
    fields.push({ field, from, to: o.codec.encode(id, field, snapshot.json.get(field) as string) })
  }
  const stored = snapshot.meta[META.tag]
  const tag = o.codec.tag(id, snapshot.meta)
  if (snapshot.staleTag && stored !== undefined && tag !== undefined && tag !== stored) {
    fields.push({ field: META.tag, from: stored, to: tag })
  }
  snapshot.stale.clear()
  snapshot.staleTag = false
  if (fields.length > 0) await s.store.reseal?.(id, fields)
}

/**
 * Deletes the stored session `id` that this request leaves (regenerate, login). If another request
 * destroyed it first, the session keeps only what this request changed: nothing of the destroyed
 * session's data lives on under the new id.
 */
export async function leaveSession(s: Saving, session: Session, id: string): Promise<void> {
  if (await s.store.remove(id, { user: s.snapshot.meta[META.user] })) return
  const changes = s.snapshot.diff(session.toJSON())
  for (const key of Object.keys(session)) if (!changes.has(key)) delete session[key]
}
