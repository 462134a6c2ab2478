/** The old key of a session: read it (bounded), and replace it with a marker once the session is ours. */
import { createHash, createHmac } from 'node:crypto'
import type { Connection } from '../store/client.js'
import type { Script } from '../store/scripts.js'
import { MAX_OLD_BYTES } from './layout.js'
import type { MigrateFrom, Migration } from './options.js'

/**
 * What an old key holds. `moved`: the session was moved here; `tag` is the Cluster tag of its new id,
 * `createdAt` the creation time (`_c`) the move gave it.
 */
export type OldValue =
  | { kind: 'none' }
  | { kind: 'moved'; tag: string; createdAt: string }
  | { kind: 'value'; raw: string; pttl: number }
  | { kind: 'invalid'; reason: string }

/**
 * What replaces an old session once it is ours: no data, only the tag its new id ends with (a guest's
 * is derived, a user's is the user's) and the creation time of ours. Not JSON, so an old library still
 * running reads it as no session.
 */
const MOVED = 'koa-session-redis3 moved '
const MARKER = /^([A-Za-z0-9_-]{3}) (\d{1,15})$/

/** Replaces the old key and answers what it held, in one step (one key: any Cluster slot). */
const SWAP_SOURCE = `local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return old
`
const SWAP: Script = {
  name: 'migrate marker',
  doing: 'moving an old session',
  source: SWAP_SOURCE,
  sha: createHash('sha1').update(SWAP_SOURCE).digest('hex'),
}

/**
 * GETRANGE (never more than {@link MAX_OLD_BYTES} + 1 bytes cross the wire, whatever the key holds) and
 * PTTL, sent together: one round trip. A hash or list is `invalid`, never an error.
 */
export async function readOld(c: Connection, key: string): Promise<OldValue> {
  const [value, ttl] = await Promise.allSettled([
    c.call('GETRANGE', key, 0, MAX_OLD_BYTES),
    c.call('PTTL', key),
  ])
  if (ttl.status === 'rejected') throw ttl.reason
  const pttl = Number(ttl.value)
  if (value.status === 'rejected') {
    if (/WRONGTYPE/.test((value.reason as Error).message)) return { kind: 'invalid', reason: 'not a string' }
    throw value.reason
  }
  // GETRANGE answers "" for a missing key; PTTL tells it from an empty value.
  if (pttl === -2) return { kind: 'none' }
  const raw = String(value.value)
  if (raw.startsWith(MOVED)) return marker(raw) ?? { kind: 'invalid', reason: 'corrupt data' }
  return { kind: 'value', raw, pttl }
}

function marker(raw: string): Extract<OldValue, { kind: 'moved' }> | undefined {
  const m = raw.startsWith(MOVED) ? MARKER.exec(raw.slice(MOVED.length)) : null
  return m ? { kind: 'moved', tag: m[1] as string, createdAt: m[2] as string } : undefined
}

/**
 * Replaces the old session with the marker, for as long as the session had left: nothing of its data
 * stays. Resolves the marker it replaced, if the old key held one already (another request's move).
 */
export async function markMoved(
  c: Connection,
  key: string,
  tag: string,
  createdAt: string,
  ttl: number,
): Promise<Extract<OldValue, { kind: 'moved' }> | undefined> {
  const previous = await c.run(SWAP, [key], [`${MOVED}${tag} ${createdAt}`, ttl])
  return typeof previous === 'string' ? marker(previous) : undefined
}

/**
 * Whether an old key holds a session still to move, one moved already, or neither (nothing, a foreign
 * or hostile value, an expired or empty session): the counts the dry run and `countOldSessions` report
 * are what a real run would move.
 */
export async function oldState(m: Migration, key: string): Promise<'to move' | 'moved' | 'none'> {
  const found = await readOld(m.old, key)
  if (found.kind === 'moved') return 'moved'
  if (found.kind !== 'value') return 'none'
  const old = m.layout.read(found.raw, Date.now())
  return old.kind === 'session' && Object.keys(old.data).length > 0 ? 'to move' : 'none'
}

/** True for an old key's value that is a marker of ours (the bulk count skips them). */
export function isMoved(raw: string): boolean {
  return raw.startsWith(MOVED)
}

/**
 * The new id of an old session, derived from the old id with `app.keys[0]`: every request (and the bulk
 * command) that carries the same old id computes the same new id, without any shared state. HMAC is a
 * PRF: without the key, the old id (which stood in Redis in clear) does not give the new one.
 * Returns the 40 characters before the tag, and the tag a guest's session gets.
 */
export function derive(
  secret: string | Buffer,
  from: MigrateFrom,
  oldId: string,
): { body: string; tag: string } {
  const mac = createHmac('sha256', secret)
    .update(`koa-session-redis3 migrate\0${from}\0${oldId}`)
    .digest('base64url')
  return { body: mac.slice(0, 40), tag: mac.slice(40, 43) }
}
