/** The cookie carrier, on Koa's own `ctx.cookies` (Keygrip signatures with `app.keys`, so keys rotate). */
import type { Context } from 'koa'
import type { CookieOptions } from '../options.js'
import type { Transport } from './types.js'

/** Carries the id in cookie `key` with the given attributes. */
export function cookieTransport(key: string, options: CookieOptions): Transport {
  const base = Object.freeze({ ...options })
  const signed = base.signed !== false
  return {
    read(ctx) {
      const value = ctx.cookies.get(key, { signed })
      if (value) return value
      // Present without a valid signature: forged, or signed with a key no longer in app.keys.
      return signed && ctx.cookies.get(key, { signed: false }) ? null : undefined
    },
    write(ctx, id, maxAge) {
      ctx.cookies.set(key, id, attributes(ctx, base, maxAge === 'session' ? {} : { maxAge }))
    },
    clear(ctx) {
      ctx.cookies.set(key, '', attributes(ctx, base, { expires: new Date(0), maxAge: 0 }))
    },
  }
}

function attributes(ctx: Context, base: CookieOptions, extra: object) {
  // `secure` left undefined follows the request: https, or a trusted proxy's X-Forwarded-Proto.
  return { ...base, secure: base.secure ?? ctx.secure, ...extra }
}
