/** What every old layout shares: the contract of a reader, and the bounded, shape-checked JSON parse of an old value. */
import { isReserved } from '../session.js'

/** Bytes of an old value read at most; a larger one is refused before JSON.parse (PRODUCT.md §6 size limits). */
export const MAX_OLD_BYTES = 1_048_576
/** Top-level keys an old session may hold; more is refused as hostile rather than stored. */
export const MAX_OLD_KEYS = 1000

/** An old value read as a session: its data without the old library's fields, and when it expires (ms), if it says. */
export type OldSession =
  | { kind: 'session'; data: Record<string, unknown>; expires: number | undefined }
  | { kind: 'expired' }
  | { kind: 'invalid'; reason: string }

/** One old library's layout: where its sessions live, what its ids look like, and how to read its values. */
export interface Layout {
  /** The old library's default key prefix in Redis. */
  readonly prefix: string
  /** Its default cookie name; undefined: the same as ours (`key`). */
  readonly cookie: string | undefined
  /** Signed by default (Keygrip with `app.keys`). */
  readonly signed: boolean
  /** The ids the old library generates; any other cookie value is never looked up. */
  readonly id: RegExp
  /** Normalizes a configured prefix as the old library did. */
  prefixOf(prefix: string): string
  /** Reads one old value (at most {@link MAX_OLD_BYTES}); `now` in ms. */
  read(raw: string, now: number): OldSession
}

/**
 * Parses an old value into a plain object of data, refusing what no old library wrote: not JSON, not
 * an object, too large, too many keys, a key that names a member of our session (`__proto__`,
 * `maxAge`, ...), or a value JSON cannot write back (nesting deep enough to overflow the stack).
 */
export function parseOld(raw: string): Record<string, unknown> | string {
  if (Buffer.byteLength(raw) > MAX_OLD_BYTES) return 'too large'
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    return 'corrupt data'
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a session'
  const keys = Object.keys(value)
  if (keys.length > MAX_OLD_KEYS) return 'too many keys'
  // A reserved key is a miss, not a skip: no old library writes one, so the value is forged or foreign.
  if (keys.some(isReserved)) return 'reserved key'
  // No prototype: nothing an old value holds can reach Object.prototype through this object.
  const data: Record<string, unknown> = Object.create(null)
  for (const key of keys) data[key] = (value as Record<string, unknown>)[key]
  try {
    JSON.stringify(data)
  } catch {
    return 'corrupt data'
  }
  return data
}

/** The data keys of an old session: without the keys that start with `_`, which neither library keeps as data. */
export function withoutPrivate(
  data: Record<string, unknown>,
  also: readonly string[] = [],
): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null)
  for (const key of Object.keys(data)) {
    if (key.charCodeAt(0) !== 95 /* _ */ && !also.includes(key)) out[key] = data[key]
  }
  return out
}
