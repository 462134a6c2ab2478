/** Signatures of ids, compatible with Koa's cookies (Keygrip: HMAC-SHA1, base64url, first key signs). */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto'
import type { Context } from 'koa'

interface Keygrip {
  sign(data: string): string
  index(data: string, digest: string): number
}

/** Signs and checks the ids carried under one cookie or header name. */
export interface Signer {
  /** The signature of `name=id` with the newest of `app.keys`, exactly as Keygrip makes it. */
  sign(ctx: Context, id: string): string
  /** The index in `app.keys` of the key that signed `name=id` as `digest`, or -1. */
  verify(ctx: Context, id: string, digest: string): number
}

interface Known {
  /** The key that made `digest`: the entry counts only while it is still `app.keys[0]`. */
  readonly key: unknown
  readonly digest: string
}

// Two generations of this many ids: when the recent one is full it becomes the older one and the
// previous older one is dropped whole; a hit in the older one moves back. (Evicting one entry at a time
// from the front of a Map costs microseconds: V8 scans the holes that deletions leave.)
const GENERATION = 5_000

/**
 * A signer for `name`. An id comes back on every request with the same signature, and its HMAC was the
 * largest cost of reading a session in our code, so the signer remembers the signatures it made or
 * accepted with the newest key: a returning id costs a lookup and a constant-time compare. Only ids
 * whose signature was made or checked here get in, so a client cannot add an entry it could not forge.
 */
export function signer(name: string): Signer {
  let recent = new Map<string, Known>()
  let older = new Map<string, Known>()

  const remember = (id: string, key: unknown, digest: string): void => {
    if (recent.size >= GENERATION) {
      older = recent
      recent = new Map()
    }
    recent.set(id, { key, digest })
  }
  const lookup = (id: string): Known | undefined => {
    const hit = recent.get(id)
    if (hit !== undefined) return hit
    const old = older.get(id)
    if (old !== undefined) remember(id, old.key, old.digest)
    return old
  }

  return {
    sign(ctx, id) {
      const keys = ctx.app.keys as unknown
      if (!Array.isArray(keys)) return keygrip(ctx).sign(`${name}=${id}`)
      const hit = lookup(id)
      if (hit !== undefined && hit.key === keys[0]) return hit.digest
      const digest = hmac(keys[0], `${name}=${id}`)
      remember(id, keys[0], digest)
      return digest
    },
    // Keygrip's own `index` compares through tsscmp, which draws random bytes and computes two extra
    // HMACs per key on every request; a constant-time comparison of the strings' bytes is as safe.
    verify(ctx, id, digest) {
      const keys = ctx.app.keys as unknown
      if (!Array.isArray(keys)) return keygrip(ctx).index(`${name}=${id}`, digest)
      const hit = lookup(id)
      if (hit !== undefined && hit.key === keys[0] && same(hit.digest, digest)) return 0
      const data = `${name}=${id}`
      for (let i = 0; i < keys.length; i++) {
        const expected = hmac(keys[i], data)
        if (!same(expected, digest)) continue
        if (i === 0) remember(id, keys[0], expected)
        return i
      }
      return -1
    },
  }
}

// Each string of `app.keys` as a KeyObject: an HMAC from one costs 1.7 µs against 2.2 from the string,
// which Node imports anew on every call (micro-benchmark). Not a Buffer key: the app may change its
// bytes in place. Rotated-out keys are dropped once there are many.
const keyObjects = new Map<string, KeyObject>()

function hmac(key: unknown, data: string): string {
  let secret: unknown = key
  if (typeof key === 'string') {
    secret = keyObjects.get(key)
    if (secret === undefined) {
      if (keyObjects.size >= 64) keyObjects.clear()
      secret = createSecretKey(Buffer.from(key))
      keyObjects.set(key, secret as KeyObject)
    }
  }
  return createHmac('sha1', secret as KeyObject)
    .update(data)
    .digest('base64url')
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function keygrip(ctx: Context): Keygrip {
  // Koa's Cookies wraps `app.keys` in a Keygrip instance, when `app.keys` is not a plain array.
  return (ctx.cookies as unknown as { keys: Keygrip }).keys
}
