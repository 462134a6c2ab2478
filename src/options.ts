/** Options of `session(...)`: their types, their defaults in one place, and their validation. */
import type Koa from 'koa'
import type { Context } from 'koa'
import { type Codec, createCodec } from './codec.js'
import { invalidOption } from './errors.js'
import { type MigrateOptions, type Migration, resolveMigrate } from './migrate/options.js'
import { checkNames, SESSION_OPTION_NAMES } from './option-names.js'
import { durationOption } from './store/lifetime.js'
import type { RedisStoreOptions } from './store/redis-options.js'
import { resolveStore } from './store/resolve.js'
import {
  DEFAULT_MAX_SESSIONS_PER_USER,
  type KoaSessionStore,
  type RequestStore,
  type SessionStore,
} from './store/types.js'
import { cookieTransport, resolveCookie } from './transport/cookie.js'
import { externalTransport } from './transport/external.js'
import { headerTransport } from './transport/header.js'
import type { Transport } from './transport/types.js'

/** Cookie attributes, accepted at the top level (koa-session style) and under `cookie` (seed style). */
export interface CookieOptions {
  /** @default true */
  httpOnly?: boolean
  /** Sign with Koa's `app.keys` (Keygrip: the first key signs, all verify). @default true */
  signed?: boolean
  /** @default true */
  overwrite?: boolean
  /** `undefined` decides per request: secure on https, or behind a proxy (`app.proxy`) that says https. @default undefined */
  secure?: boolean
  /** @default 'lax' */
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

/** Reads and writes the session id somewhere other than the cookie (koa-session's `externalKey`). */
export interface ExternalKey {
  get(ctx: Context): string | undefined
  set(ctx: Context, value: string): void
}

/**
 * Options of `session(...)`. Durations are milliseconds, except `store.ttl` (seconds, from the seed).
 *
 * @example
 * session({ key: 'sid', maxAge: 3_600_000, rolling: true, store: { url: 'redis://127.0.0.1:6379' } })
 */
export interface SessionOptions<Data = Record<string, unknown>> extends CookieOptions {
  /** Cookie (and header-signature) name. @default 'koa.sess' */
  key?: string
  /** Idle timeout, ms, and the cookie's lifetime; `'session'` makes a browser-session cookie. @default 86400000 */
  maxAge?: number | 'session'
  /** Commit after the downstream middleware; `false` needs `ctx.session.manuallyCommit()`. @default true */
  autoCommit?: boolean
  /** Send the cookie again on every response. The server-side idle timeout slides with activity regardless (README, Security, "Timeouts"). @default false */
  rolling?: boolean
  /** Send the cookie again when less than half of `maxAge` is left. @default false */
  renew?: boolean
  /** Id generator. The default: 40 random base64url characters from `node:crypto`, then a Cluster slot tag. */
  genid?: (ctx: Context) => string
  /** Prefix of generated ids (koa-session). @default '' */
  prefix?: string
  /** Extra check of a loaded session; `false` treats it as invalid. */
  valid?: (ctx: Context, data: Partial<Data>) => boolean
  /** Called before each save. */
  beforeSave?: (ctx: Context, session: Partial<Data>) => void
  /** Carry the id yourself instead of in the cookie. */
  externalKey?: ExternalKey
  /**
   * Where sessions live: RedisStore options (the seed's `{ host, port, ttl, keySchema, ... }`), a
   * `RedisStore` or `MemoryStore`, or any koa-session store. @default a RedisStore on 127.0.0.1:6379
   */
  store?: SessionStore | KoaSessionStore | RedisStoreOptions
  /** A koa-session store class constructed per request with `ctx`. */
  ContextStore?: new (
    ctx: Context,
  ) => KoaSessionStore
  /** Save sessions that hold no data. @default false */
  saveUninitialized?: boolean
  /** Cookie attributes (seed style), or `false` for no cookie at all (with `header` or `externalKey`). */
  cookie?: CookieOptions | false
  /** Also carry the id in this request/response header (front-end / back-end separation). @default undefined */
  header?: string
  /** Do not load before the downstream runs: call `await ctx.loadSession()` first. @default false */
  lazy?: boolean
  /** Serve an empty, unsaved session when the store fails, instead of a 503. @default false */
  failOpen?: boolean
  /** Absolute lifetime, ms since creation; not extended by activity or `regenerate()`. @default undefined (none) */
  absoluteTimeout?: number
  /** Names the user a session belongs to, enabling `listSessions` and `destroyUserSessions`. */
  userId?: (data: Partial<Data>) => string | number | undefined
  /**
   * With `userId`: a login that takes a user past this many sessions ends the user's least recently
   * active ones (at most 100 per login). @default 100
   */
  maxSessionsPerUser?: number
  /** 32-byte keys for AES-256-GCM at rest, newest first; all decrypt, the first encrypts. @default undefined */
  encryptionKeys?: (Buffer | Uint8Array)[]
  /** `regenerate()` keeps the data (`true`) or starts empty. @default true */
  regenerateKeepsData?: boolean
  /**
   * Moves the sessions of koa-session + koa-redis, koa-generic-session or koa-session-redis3 1.x here
   * as their users come back, so switching logs nobody out (README, "Migration"). Needs `app.keys`.
   * @default undefined (old sessions are not read)
   */
  migrate?: MigrateOptions
}

/** Options after validation: complete and frozen; request code reads only this. */
export interface Resolved {
  readonly key: string
  readonly maxAge: number | 'session'
  /** Server-side idle timeout, ms. */
  readonly ttl: number
  readonly autoCommit: boolean
  readonly rolling: boolean
  readonly renew: boolean
  readonly genid: ((ctx: Context) => string) | undefined
  readonly prefix: string
  readonly valid: SessionOptions['valid']
  readonly beforeSave: SessionOptions['beforeSave']
  /** The store a request talks to (the same instance each time, except for `ContextStore`). */
  readonly store: (ctx: Context) => RequestStore
  readonly saveUninitialized: boolean
  readonly lazy: boolean
  readonly failOpen: boolean
  readonly absoluteTimeout: number
  readonly userId: SessionOptions['userId']
  readonly maxSessionsPerUser: number
  readonly regenerateKeepsData: boolean
  readonly signed: boolean
  readonly transports: readonly Transport[]
  readonly codec: Codec
  readonly migrate: Migration | undefined
}

/** Every default, grouped by concern. */
export const DEFAULTS = {
  key: 'koa.sess',
  lifetime: { maxAge: 86_400_000, rolling: false, renew: false, absoluteTimeout: 0 },
  users: { maxSessionsPerUser: DEFAULT_MAX_SESSIONS_PER_USER },
  saving: {
    autoCommit: true,
    saveUninitialized: false,
    lazy: false,
    failOpen: false,
    regenerateKeepsData: true,
  },
  ids: { prefix: '' },
  cookie: {
    httpOnly: true,
    signed: true,
    overwrite: true,
    sameSite: 'lax',
    path: '/',
  } satisfies CookieOptions,
} as const

/** Validates `options` and resolves them into a frozen object. Throws `SessionError('INVALID_OPTION')`. */
export function resolveOptions(options: SessionOptions, app: Koa | undefined): Resolved {
  if (typeof options !== 'object' || options === null)
    throw invalidOption('options', 'must be an object', options)
  const o = options
  checkNames(o, SESSION_OPTION_NAMES)
  const key = o.key ?? DEFAULTS.key
  if (typeof key !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z:]+$/.test(key)) {
    throw invalidOption('key', 'must be a non-empty cookie name (RFC 6265 token characters)', key)
  }
  const { openStore, storeTtl, foreign } = resolveStore(o)
  // koa-session stores hold one JSON value per session: no ciphertext fields, no creation time.
  for (const name of ['encryptionKeys', 'absoluteTimeout'] as const) {
    if (foreign && o[name] !== undefined) {
      throw invalidOption(name, 'needs a RedisStore or MemoryStore, not a koa-session store', o.store)
    }
  }
  const maxAge =
    o.maxAge === 'session'
      ? 'session'
      : o.maxAge === undefined
        ? (storeTtl ?? DEFAULTS.lifetime.maxAge)
        : durationOption('maxAge', o.maxAge, 'ms', ", or 'session'")
  for (const name of [
    'autoCommit',
    'rolling',
    'renew',
    'saveUninitialized',
    'lazy',
    'failOpen',
    'regenerateKeepsData',
  ] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'boolean')
      throw invalidOption(name, 'must be a boolean', o[name])
  }
  for (const name of ['genid', 'valid', 'beforeSave', 'userId', 'ContextStore'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'function')
      throw invalidOption(name, 'must be a function', o[name])
  }
  const absoluteTimeout =
    o.absoluteTimeout === undefined || o.absoluteTimeout === 0
      ? DEFAULTS.lifetime.absoluteTimeout
      : durationOption('absoluteTimeout', o.absoluteTimeout, 'ms')
  const maxSessionsPerUser = o.maxSessionsPerUser ?? DEFAULTS.users.maxSessionsPerUser
  if (!(Number.isInteger(maxSessionsPerUser) && maxSessionsPerUser >= 1)) {
    throw invalidOption('maxSessionsPerUser', 'must be a positive integer', maxSessionsPerUser)
  }
  const prefix = o.prefix ?? DEFAULTS.ids.prefix
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9_.:~-]*$/.test(prefix) || prefix.length > 64) {
    throw invalidOption('prefix', 'must be up to 64 characters of A-Z a-z 0-9 _ . : ~ -', prefix)
  }

  const cookie = resolveCookie(o, key, DEFAULTS.cookie)
  const signed = cookie === false ? o.signed !== false : cookie.signed !== false
  if (signed && app !== undefined) assertKeys(app)

  // The seed's `store.ttl` sets the server-side idle timeout; without it `maxAge` does.
  const ttl = storeTtl ?? (maxAge === 'session' ? DEFAULTS.lifetime.maxAge : maxAge)
  const transports: Transport[] = []
  if (o.header !== undefined) {
    if (typeof o.header !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(o.header)) {
      throw invalidOption('header', 'must be an HTTP header name', o.header)
    }
    transports.push(headerTransport(o.header, signed))
  }
  if (o.externalKey !== undefined) {
    if (typeof o.externalKey?.get !== 'function' || typeof o.externalKey?.set !== 'function') {
      throw invalidOption('externalKey', 'must have get(ctx) and set(ctx, value) functions', o.externalKey)
    }
    transports.push(externalTransport(o.externalKey))
  } else if (cookie !== false) {
    transports.push(cookieTransport(key, cookie))
  }
  if (transports.length === 0) {
    throw invalidOption(
      'cookie',
      'can be false only with `header` or `externalKey` set to carry the id',
      false,
    )
  }

  // Created last, so a configuration error above never leaves a Redis connection open.
  const store = openStore({ maxAge, rolling: o.rolling ?? DEFAULTS.lifetime.rolling })
  // Our stores are one instance for every request (the context is not looked at); a ContextStore is
  // foreign, so `migrate` then needs its own client.
  const migrate =
    o.migrate === undefined
      ? undefined
      : resolveMigrate(o.migrate, key, foreign ? undefined : store(undefined as unknown as Context))
  if (migrate !== undefined && app !== undefined) assertMigrateKeys(app)
  return Object.freeze({
    key,
    maxAge,
    ttl,
    autoCommit: o.autoCommit ?? DEFAULTS.saving.autoCommit,
    rolling: o.rolling ?? DEFAULTS.lifetime.rolling,
    renew: o.renew ?? DEFAULTS.lifetime.renew,
    genid: o.genid,
    prefix,
    valid: o.valid,
    beforeSave: o.beforeSave,
    store,
    saveUninitialized: o.saveUninitialized ?? DEFAULTS.saving.saveUninitialized,
    lazy: o.lazy ?? DEFAULTS.saving.lazy,
    failOpen: o.failOpen ?? DEFAULTS.saving.failOpen,
    absoluteTimeout,
    userId: o.userId,
    maxSessionsPerUser,
    regenerateKeepsData: o.regenerateKeepsData ?? DEFAULTS.saving.regenerateKeepsData,
    signed,
    transports: Object.freeze(transports),
    codec: createCodec(o.encryptionKeys),
    migrate,
  })
}

/** `migrate` derives new ids from old ones with `app.keys[0]`: it needs keys it can read, whatever `signed` says. */
export function assertMigrateKeys(app: Koa): void {
  if (!Array.isArray(app.keys)) {
    throw invalidOption(
      'app.keys',
      'must be an array of keys (not a Keygrip) because `migrate` derives new ids with it',
      app.keys,
    )
  }
  assertKeys(app)
}

/** Throws unless the app can sign: Koa's `app.keys` must hold at least one key. */
export function assertKeys(app: Koa): void {
  const keys = app.keys as unknown
  // A Keygrip instance (which Koa also accepts) keeps its keys to itself.
  if (typeof (keys as { sign?: unknown } | undefined)?.sign === 'function') return
  if (!Array.isArray(keys) || keys.length === 0) {
    throw invalidOption('app.keys', 'must be set (e.g. app.keys = [secret]) because `signed` is on', keys)
  }
  keys.forEach((k: unknown, i) => {
    // An empty key is an HMAC key anyone can reproduce; `undefined` is usually an unset environment variable.
    if (!((typeof k === 'string' || Buffer.isBuffer(k)) && k.length > 0)) {
      throw invalidOption(
        `app.keys[${i}]`,
        'must be a non-empty string or Buffer',
        typeof k === 'string' ? '' : k,
      )
    }
  })
}
