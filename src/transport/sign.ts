/** Signatures of ids, compatible with Koa's cookies (Keygrip: HMAC-SHA1, base64url, first key signs). */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Context } from 'koa'

interface Keygrip {
  sign(data: string): string
  index(data: string, digest: string): number
}

// A session id comes back on every request with the same signature, and an HMAC was the largest cost of
// reading a session. The signatures this process made or accepted with the newest key are kept, so a
// returning id costs a lookup and a constant-time compare. An entry counts only while that key is still
// the newest. Only ids whose signature was made or checked here get in, so a client cannot add an
// entry it could not forge anyway.
// Bounded by two generations of 5000: when the recent one is full it becomes the older one and the
// previous older one is dropped whole; a hit in the older one moves back to the recent one. (Evicting
// one entry at a time from the front of a Map costs microseconds: V8 scans the holes deletions leave.)
const GENERATION = 5_000
type Known = Map<string, { key: unknown; digest: string }>
let recent: Known = new Map()
let older: Known = new Map()

/** Signs `data` with the newest of `app.keys`, exactly as Keygrip does for Koa's signed cookies. */
export function sign(ctx: Context, data: string): string {
  const keys = ctx.app.keys as unknown
  if (!Array.isArray(keys)) return keygrip(ctx).sign(data)
  const hit = lookup(data)
  if (hit !== undefined && hit.key === keys[0]) return hit.digest
  const digest = hmac(keys[0], data)
  remember(data, keys[0], digest)
  return digest
}

/**
 * The index in `app.keys` of the key that made `digest`, or -1. Keygrip's own `index` compares
 * through tsscmp, which draws random bytes and computes two extra HMACs per key on every request;
 * a constant-time comparison of equal-length buffers is as safe and much cheaper.
 */
export function verify(ctx: Context, data: string, digest: string): number {
  const keys = ctx.app.keys as unknown
  if (!Array.isArray(keys)) return keygrip(ctx).index(data, digest)
  const hit = lookup(data)
  if (hit !== undefined && hit.key === keys[0] && same(hit.digest, digest)) return 0
  for (let i = 0; i < keys.length; i++) {
    const expected = hmac(keys[i], data)
    if (!same(expected, digest)) continue
    if (i === 0) remember(data, keys[0], expected)
    return i
  }
  return -1
}

function hmac(key: unknown, data: string): string {
  return createHmac('sha1', key as string)
    .update(data)
    .digest('base64url')
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

function lookup(data: string): { key: unknown; digest: string } | undefined {
  const hit = recent.get(data)
  if (hit !== undefined) return hit
  const old = older.get(data)
  if (old !== undefined) remember(data, old.key, old.digest)
  return old
}

function remember(data: string, key: unknown, digest: string): void {
  if (recent.size >= GENERATION) {
    older = recent
    recent = new Map()
  }
  recent.set(data, { key, digest })
}

function keygrip(ctx: Context): Keygrip {
  // Koa's Cookies wraps `app.keys` in a Keygrip instance, when `app.keys` is not a plain array.
  return (ctx.cookies as unknown as { keys: Keygrip }).keys
}
