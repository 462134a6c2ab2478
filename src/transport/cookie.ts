/** The cookie carrier, on Koa's own `ctx.cookies` (Keygrip signatures with `app.keys`, so keys rotate). */
import type { Context } from 'koa'
import { invalidOption, SessionError } from '../errors.js'
import { checkNames } from '../option-names.js'
import type { CookieOptions, SessionOptions } from '../options.js'
import { signer } from './sign.js'
import type { Transport } from './types.js'

/** Carries the id in cookie `key` with the given attributes. */
export function cookieTransport(key: string, options: CookieOptions): Transport {
  const base = Object.freeze({ ...options })
  const signed = base.signed !== false
  const sigName = `${key}.sig`
  const signature = signer(key)
  return {
    read(ctx) {
      const value = ctx.cookies.get(key)
      if (!value) return undefined
      if (!signed) return { id: value, stale: false }
      // The same check as `ctx.cookies.get(key, { signed: true })`, with a cheaper comparison. Unlike
      // Koa, an older key's signature is not replaced here but when the session is saved, with the
      // cookie's full attributes (Koa's replacement has no maxAge, so it ends with the browser session).
      const digest = ctx.cookies.get(sigName)
      const at = digest ? signature.verify(ctx, value, digest) : -1
      return at < 0 ? null : { id: value, stale: at > 0 }
    },
    write(ctx, id, maxAge) {
      const options = attributes(ctx, base, maxAge === 'session' ? {} : { maxAge })
      ctx.cookies.set(key, id, options)
      // The signature cookie Koa would add, from a signer that knows the ids it signed or checked before.
      if (signed) ctx.cookies.set(sigName, signature.sign(ctx, id), options)
    },
    clear(ctx) {
      const options = attributes(ctx, base, { expires: new Date(0), maxAge: 0 })
      ctx.cookies.set(key, '', options)
      if (signed) ctx.cookies.set(sigName, '', options)
    },
  }
}

function attributes(ctx: Context, base: CookieOptions, extra: object) {
  // `secure` left undefined follows the request: https, or a trusted proxy's X-Forwarded-Proto.
  const secure = base.secure ?? ctx.secure
  if (base.sameSite === 'none' && !secure) {
    // Browsers drop a SameSite=None cookie without Secure: the session would restart on every request.
    throw new SessionError(
      'INVALID_OPTION',
      "a sameSite 'none' cookie needs https, and this request is plain http (behind a TLS proxy, set app.proxy = true)",
    )
  }
  // `signed: false`: the signature cookie is set here, not by Koa.
  return { ...base, secure, ...extra, signed: false }
}

/** The cookie attributes, accepted at the top level of the options and under `cookie`. */
export const COOKIE_KEYS = [
  'httpOnly',
  'signed',
  'overwrite',
  'secure',
  'sameSite',
  'domain',
  'path',
  'partitioned',
  'priority',
] as const

/** The cookie attributes from the top level and `cookie` (which wins) over `defaults`; `false`: no cookie. */
export function resolveCookie(
  o: SessionOptions,
  key: string,
  defaults: CookieOptions,
): CookieOptions | false {
  if (o.cookie === false) return false
  if (o.cookie !== undefined && (typeof o.cookie !== 'object' || o.cookie === null)) {
    throw invalidOption('cookie', 'must be an object of cookie attributes or false', o.cookie)
  }
  if (o.cookie !== undefined) checkNames(o.cookie, COOKIE_KEYS, 'cookie.')
  // Cookie name prefixes (RFC 6265bis): browsers accept `__Secure-` only with Secure, and `__Host-`
  // only with Secure, Path=/ and no Domain, which is what stops a sibling subdomain from planting its
  // own session cookie (cookie tossing). Secure is then always on, not decided per request.
  const prefixed = key.startsWith('__Host-') || key.startsWith('__Secure-')
  const merged: Record<string, unknown> = prefixed ? { ...defaults, secure: true } : { ...defaults }
  for (const name of COOKIE_KEYS) {
    const value = o.cookie?.[name] ?? o[name]
    if (value !== undefined) merged[name] = value
  }
  for (const name of ['httpOnly', 'signed', 'overwrite', 'secure', 'partitioned'] as const) {
    if (merged[name] !== undefined && typeof merged[name] !== 'boolean') {
      throw invalidOption(`cookie.${name}`, 'must be a boolean', merged[name])
    }
  }
  if (![true, false, 'lax', 'strict', 'none'].includes(merged.sameSite as string)) {
    throw invalidOption('cookie.sameSite', "must be 'lax', 'strict', 'none' or a boolean", merged.sameSite)
  }
  if (merged.sameSite === 'none' && merged.secure === false) {
    throw invalidOption(
      'cookie.secure',
      "cannot be false with sameSite 'none' (browsers drop such cookies)",
      false,
    )
  }
  if (prefixed && merged.secure !== true) {
    throw invalidOption(
      'cookie.secure',
      `must be true for a cookie named ${key} (browsers drop it otherwise)`,
      merged.secure,
    )
  }
  if (key.startsWith('__Host-') && (merged.path !== '/' || merged.domain !== undefined)) {
    const option = merged.path !== '/' ? 'cookie.path' : 'cookie.domain'
    const rule =
      merged.path !== '/' ? "must be '/' for a __Host- cookie" : 'must be unset for a __Host- cookie'
    throw invalidOption(option, rule, merged.path !== '/' ? merged.path : merged.domain)
  }
  return merged as CookieOptions
}
