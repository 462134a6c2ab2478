/** Session ids: generation, the check every incoming id passes, and the hash that Redis keys hold. */
import { hash, randomBytes } from 'node:crypto'

/** Length of a default id: 32 random bytes in base64url. */
export const DEFAULT_ID_LENGTH = 43
const DEFAULT_ID = /^[A-Za-z0-9_-]{43}$/
// Custom `genid` ids (uuids, koa-session's format) are allowed a wider but still tame alphabet:
// no glob characters, spaces, quotes or control characters can reach a Redis key or a log line.
const CUSTOM_ID = /^[A-Za-z0-9_.:~-]{16,256}$/

// Bytes are drawn from the CSPRNG 4 KiB at a time: one call per 128 ids instead of one per id
// (a synchronous randomBytes(32) cost about 15 µs per new session). Each byte is used once.
let pool = Buffer.alloc(0)
let used = 0

/** 256 bits from the OS CSPRNG, base64url: 43 characters, cookie- and header-safe. */
export function randomId(): string {
  if (used + 32 > pool.length) {
    pool = randomBytes(4096)
    used = 0
  }
  used += 32
  return pool.toString('base64url', used - 32, used)
}

/** SHA-256 of the id, base64url. Not keyed: `app.keys` rotate, and a 256-bit random id needs no salt. */
export function hashId(id: string): string {
  // The one-shot `hash` (Node 20.12+) skips the Hash object that createHash builds: a third of the cost.
  return hash('sha256', id, 'base64url')
}

/**
 * The Redis Cluster hash-tag of an id: the first character of its hash (64 values). Keys of one
 * session, and the index of its user, share this tag, so every script touches a single slot.
 */
export function slotTag(hash: string): string {
  return hash.charAt(0)
}

/** Checks an incoming id before it is allowed anywhere near the store. */
export function isWellFormedId(id: string, prefix: string, custom: boolean): boolean {
  if (!id.startsWith(prefix)) return false
  const rest = id.slice(prefix.length)
  return custom ? CUSTOM_ID.test(rest) : DEFAULT_ID.test(rest)
}

// 64 tags: a matching id is found after 64 draws on average; the cap only guards a broken `genid`.
const MAX_DRAWS = 10_000

/**
 * Draws ids until one's hash falls in `tag` (when given), so a user's sessions share the slot of
 * the user's index. `draw` is the default generator or the user's `genid`.
 */
export function idWithTag(draw: () => string, tag: string | undefined): string {
  for (let i = 0; i < MAX_DRAWS; i++) {
    const id = draw()
    if (tag === undefined || slotTag(hashId(id)) === tag) return id
  }
  throw new Error(`koa-session-redis3: \`genid\` produced no id in slot tag ${tag} after ${MAX_DRAWS} draws`)
}
