/** The cookie carrier, on Koa's own `ctx.cookies` (Keygrip signatures with `app.keys`, so keys rotate). */
import type { Context } from 'koa'
import type { CookieOptions } from '../options.js'
import { sign, verify } from './sign.js'
import type { Transport } from './types.js'

/** Carries the id in cookie `key` with the given attributes. */
export function cookieTransport(key: string, options: CookieOptions): Transport {
  const base = Object.freeze({ ...options })
  const signed = base.signed !== false
  const sigName = `${key}.sig`
  return {
    read(ctx) {
      const value = ctx.cookies.get(key)
      if (!value || !signed) return value || undefined
      // The same check as `ctx.cookies.get(key, { signed: true })`, with a cheaper comparison.
      const digest = ctx.cookies.get(sigName)
      const at = digest ? verify(ctx, `${key}=${value}`, digest) : -1
      if (at < 0) return null
      if (at > 0)
        ctx.cookies.set(sigName, sign(ctx, `${key}=${value}`), {
          ...base,
          signed: false,
          secure: base.secure ?? ctx.secure,
        })
      return value
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
