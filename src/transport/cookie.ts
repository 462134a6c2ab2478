/** The cookie carrier, on Koa's own `ctx.cookies` (Keygrip signatures with `app.keys`, so keys rotate). */
import type { Context } from 'koa'
import { invalidOption, SessionError } from '../errors.js'
import { checkNames } from '../option-names.js'
import { signer } from './sign.js'
import type { Transport } from './types.js'

/** Cookie attributes, accepted at the top level (koa-session style) and under `cookie` (1.x style). */
export interface CookieOptions {
  /** @default true */
  httpOnly?: boolean
  /** Sign with Koa's `app.keys` (Keygrip: the first key signs, all verify). @default true */
  signed?: boolean
  /** @default true */
  overwrite?: boolean
  /**
   * `undefined` decides per request: secure on https, or behind a proxy (`app.proxy`) that says https.
   * Must be `true` with `sameSite: 'none'`. @default undefined
   */
  secure?: boolean
  /** `'none'` needs `secure: true` (browsers drop a SameSite=None cookie without Secure). @default 'lax' */
  sameSite?: 'lax' | 'strict' | 'none' | boolean
  /** @default undefined (host-only cookie) */
  domain?: string
  /** @default '/' */
  path?: string
  /** CHIPS partitioned cookie. @default undefined */
  partitioned?: boolean
  /** @default undefined */
  priority?: 'low' | 'medium' | 'high'
}

/** Where cookie attributes come from: the top level of the options, and `cookie` (which wins). */
export type CookieSources = CookieOptions & { cookie?: CookieOptions | false | undefined }

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
  if (secure && !ctx.secure) {
    // Koa refuses to send it with a bare Error; say what to change instead.
    throw new SessionError(
      'INVALID_OPTION',
      'a Secure cookie cannot be sent on this plain-http request: serve https, or behind a TLS proxy set app.proxy = true',
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

/**
 * The cookie attributes from the top level and `cookie` (which wins) over `defaults`; `false`: no
 * cookie. Errors name each attribute as the user wrote it (`secure` or `cookie.secure`).
 */
export function resolveCookie(o: CookieSources, key: string, defaults: CookieOptions): CookieOptions | false {
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
  const written: Record<string, string> = {}
  for (const name of COOKIE_KEYS) {
    const nested = o.cookie?.[name]
    const value = nested ?? o[name]
    if (value === undefined) continue
    merged[name] = value
    written[name] = nested === undefined ? name : `cookie.${name}`
  }
  const as = (name: string) => written[name] ?? `cookie.${name}`
  for (const name of ['httpOnly', 'signed', 'overwrite', 'secure', 'partitioned'] as const) {
    if (merged[name] !== undefined && typeof merged[name] !== 'boolean') {
      throw invalidOption(as(name), 'must be a boolean', merged[name])
    }
  }
  if (![true, false, 'lax', 'strict', 'none'].includes(merged.sameSite as string)) {
    throw invalidOption(as('sameSite'), "must be 'lax', 'strict', 'none' or a boolean", merged.sameSite)
  }
  if (merged.sameSite === 'none' && merged.secure !== true) {
    // Checked here, once: left to the request, every plain-http response would fail instead.
    const why = 'browsers drop a SameSite=None cookie without Secure'
    if (merged.secure === false) {
      throw invalidOption(as('secure'), `cannot be false with sameSite 'none' (${why})`, false)
    }
    throw invalidOption(
      as('sameSite'),
      `'none' needs \`secure: true\` (${why}; behind a TLS proxy also set app.proxy = true)`,
      'none',
    )
  }
  if (prefixed && merged.secure !== true) {
    throw invalidOption(
      as('secure'),
      `must be true for a cookie named ${key} (browsers drop it otherwise)`,
      merged.secure,
    )
  }
  if (key.startsWith('__Host-') && (merged.path !== '/' || merged.domain !== undefined)) {
    const badPath = merged.path !== '/'
    throw invalidOption(
      badPath ? as('path') : as('domain'),
      badPath ? "must be '/' for a __Host- cookie" : 'must be unset for a __Host- cookie',
      badPath ? merged.path : merged.domain,
    )
  }
  return merged as CookieOptions
}
