/** Signatures of ids, compatible with Koa's cookies (Keygrip: HMAC-SHA1, base64url, first key signs). */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { Context } from 'koa'

interface Keygrip {
  sign(data: string): string
  index(data: string, digest: string): number
}

/** Signs `data` with the newest of `app.keys`, exactly as Keygrip does for Koa's signed cookies. */
export function sign(ctx: Context, data: string): string {
  return keygrip(ctx).sign(data)
}

/**
 * The index in `app.keys` of the key that made `digest`, or -1. Keygrip's own `index` compares
 * through tsscmp, which draws random bytes and computes two extra HMACs per key on every request;
 * a constant-time comparison of equal-length buffers is as safe and much cheaper.
 */
export function verify(ctx: Context, data: string, digest: string): number {
  const keys = ctx.app.keys as unknown
  if (!Array.isArray(keys)) return keygrip(ctx).index(data, digest)
  const given = Buffer.from(digest)
  for (let i = 0; i < keys.length; i++) {
    const expected = Buffer.from(
      createHmac('sha1', keys[i] as string)
        .update(data)
        .digest('base64url'),
    )
    if (expected.length === given.length && timingSafeEqual(expected, given)) return i
  }
  return -1
}

function keygrip(ctx: Context): Keygrip {
  // Koa's Cookies wraps `app.keys` in a Keygrip instance: reuse it for signing.
  return (ctx.cookies as unknown as { keys: Keygrip }).keys
}
