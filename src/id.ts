/** Session ids: generation, the check every incoming id passes, the hash Redis keys hold, and the Cluster tag ids carry. */
import { hash, randomBytes } from 'node:crypto'
import { SessionError } from './errors.js'

/** Length of a default id: 40 random base64url characters (240 bits) and a 3-character slot tag. */
export const DEFAULT_ID_LENGTH = 43
/** Length of the Cluster hash tag every id ends with. */
export const TAG_LENGTH = 3
const DEFAULT_ID = /^[A-Za-z0-9_-]{43}$/
// Custom `genid` ids (uuids, koa-session's format) are allowed a wider but still tame alphabet:
// no glob characters, braces, spaces, quotes or control characters can reach a Redis key or a log line.
const CUSTOM_ID = /^[A-Za-z0-9_.:~-]{16,256}$/

// Bytes are drawn from the CSPRNG 4 KiB at a time: one call per 128 ids instead of one per id
// (a synchronous randomBytes(32) cost about 15 µs per new session). Each byte is used once.
let pool = Buffer.alloc(0)
let used = 0

/** The offset in `pool` of `n` bytes never used before. */
function take(n: number): number {
  if (used + n > pool.length) {
    pool = randomBytes(4096)
    used = 0
  }
  used += n
  return used - n
}

/** 256 bits from the OS CSPRNG, base64url: 43 characters, cookie- and header-safe. */
export function randomId(): string {
  const at = take(32)
  return pool.toString('base64url', at, at + 32)
}

/** SHA-256 of the id, base64url. Not keyed: `app.keys` rotate, and a 240-bit random id needs no salt. */
export function hashId(id: string): string {
  // The one-shot `hash` (Node 20.12+) skips the Hash object that createHash builds: a third of the cost.
  return hash('sha256', id, 'base64url')
}

/**
 * The hash of a user id: a string or a finite number (`1` and `'1'` are one user). `undefined`,
 * `null` and `''` mean no user. Anything else throws: `String()` of an object is `[object Object]`
 * for every user, which would merge them all into one index. `what` names the caller in the error.
 */
export function userHash(user: unknown, what: string): string | undefined {
  if (user === undefined || user === null || user === '') return undefined
  if (typeof user === 'string' || (typeof user === 'number' && Number.isFinite(user))) {
    return hashId(String(user))
  }
  // The type only, never the value: it may be the app's user record.
  const kind = Array.isArray(user)
    ? 'an array'
    : user === null || typeof user !== 'object'
      ? typeof user === 'number'
        ? String(user)
        : `a ${typeof user}`
      : 'an object'
  throw new SessionError(
    'INVALID_VALUE',
    `${what} must be a string or a finite number, received ${kind}; String() of it would put every such user in one index`,
  )
}

/** {@link userHash} of a user id that a store method requires. */
export function requiredUserHash(user: unknown, method: string): string {
  const hashed = userHash(user, `the userId given to ${method}`)
  if (hashed === undefined) {
    throw new SessionError(
      'INVALID_VALUE',
      `${method} needs a userId (a string or a finite number), received ${user === '' ? '""' : String(user)}`,
    )
  }
  return hashed
}

/** The Cluster hash tag of an id: its last three characters (see docs/DESIGN.md). */
export function tagOf(id: string): string {
  return id.slice(-TAG_LENGTH)
}

/** The tag of a user's sessions and index: the first three characters of the user's hash. */
export function userTag(userHash: string): string {
  return userHash.slice(0, TAG_LENGTH)
}

/** `id` with its tag replaced by `tag`, so a user's session lands in the slot of the user's index. */
export function withTag(id: string, tag: string): string {
  // join, not `+`: V8 would keep `+` as a rope over a slice, and every later use of the id (the
  // HMAC, the checks, each socket write) pays to walk it: 25 µs per new session, measured.
  return [id.slice(0, -TAG_LENGTH), tag].join('')
}

/**
 * A default id: 40 random characters (240 bits), then the tag of a slot drawn at random for this id.
 * Random per id, so two ids tell nothing about how many sessions were issued between them.
 */
export function guestId(): string {
  const at = take(32)
  const slot = pool.readUInt16BE(at + 30) & (SLOTS - 1)
  // join, not `+` (see withTag).
  return [pool.toString('base64url', at, at + 30), slotTag(slot)].join('')
}

/** Checks an incoming id before it is allowed anywhere near the store. */
export function isWellFormedId(id: string, prefix: string, custom: boolean): boolean {
  if (!id.startsWith(prefix)) return false
  const rest = id.slice(prefix.length)
  return custom ? CUSTOM_ID.test(rest) : DEFAULT_ID.test(rest)
}

const SLOTS = 16_384
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
let tags: Uint32Array | undefined

/** The three-character tag that Redis Cluster hashes to `slot`. */
export function slotTag(slot: number): string {
  tags ??= tagPerSlot()
  const t = tags[slot] as number
  return (ALPHABET[t >> 12] as string) + ALPHABET[(t >> 6) & 63] + ALPHABET[t & 63]
}

/**
 * For each slot, the first three-character tag (of 262,144, packed as three 6-bit alphabet indexes)
 * that Redis hashes to it; built once, on first use, in about a millisecond. The slot is CRC-16/XMODEM
 * modulo 16384, as Redis Cluster computes it; it is computed here character by character, which
 * cluster-key-slot (a whole-key function, 80 ms for this table) does not offer. Tested against it.
 */
function tagPerSlot(): Uint32Array {
  const crc = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i << 8
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? (c << 1) ^ 0x1021 : c << 1
    crc[i] = c
  }
  const step = (sum: number, byte: number) =>
    ((sum << 8) ^ (crc[((sum >> 8) ^ byte) & 0xff] as number)) & 0xffff
  const table = new Uint32Array(SLOTS).fill(0xffffffff)
  for (let a = 0; a < 64; a++) {
    const sa = step(0, ALPHABET.charCodeAt(a))
    for (let b = 0; b < 64; b++) {
      const sb = step(sa, ALPHABET.charCodeAt(b))
      for (let c = 0; c < 64; c++) {
        const s = step(sb, ALPHABET.charCodeAt(c)) & (SLOTS - 1)
        if (table[s] === 0xffffffff) table[s] = (a << 12) | (b << 6) | c
      }
    }
  }
  return table
}
