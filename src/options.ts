/** Options of `session(...)`: their types, every default in one place, and the list of their names. */
import type { Context } from 'koa'
import type { Codec } from './codec.js'
import type { MigrateOptions, Migration } from './migrate/options.js'
import type { SessionData } from './session.js'
import type { RedisStoreOptions } from './store/redis-options.js'
import {
  DEFAULT_MAX_SESSIONS_PER_USER,
  type KoaSessionStore,
  type RequestStore,
  type SessionStore,
} from './store/types.js'
import type { CookieOptions } from './transport/cookie.js'
import type { ExternalKey } from './transport/external.js'
import type { Transport } from './transport/types.js'

export type { CookieOptions, ExternalKey }

/**
 * Options of `session(...)`. Durations are milliseconds, except `store.ttl` (seconds, as in the 1.x package).
 *
 * @example
 * session({ key: 'sid', maxAge: 3_600_000, rolling: true, store: { url: 'redis://127.0.0.1:6379' } })
 */
export interface SessionOptions<Data = SessionData> extends CookieOptions {
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
  valid?: (ctx: Context, data: DataOf<Data>) => boolean
  /** Called before each save. */
  beforeSave?: (ctx: Context, session: DataOf<Data>) => void
  /** Carry the id yourself instead of in the cookie. */
  externalKey?: ExternalKey
  /**
   * Where sessions live: RedisStore options (the 1.x package's `{ host, port, ttl, keySchema, ... }`), a
   * `RedisStore` or `MemoryStore`, or any koa-session store. @default a RedisStore on 127.0.0.1:6379
   */
  store?: SessionStore | KoaSessionStore | RedisStoreOptions
  /** A koa-session store class constructed per request with `ctx`. */
  ContextStore?: new (
    ctx: Context,
  ) => KoaSessionStore
  /** Save sessions that hold no data. @default false */
  saveUninitialized?: boolean
  /** Cookie attributes (1.x style), or `false` for no cookie at all (with `header` or `externalKey`). */
  cookie?: CookieOptions | false
  /** Also carry the id in this request/response header (front-end / back-end separation). @default undefined */
  header?: string
  /** Do not load before the downstream runs: call `await ctx.loadSession()` first. @default false */
  lazy?: boolean
  /** Serve an empty, unsaved session when the store fails, instead of a 503. @default false */
  failOpen?: boolean
  /** Absolute lifetime, ms since creation; not extended by activity or `regenerate()`. @default undefined (none) */
  absoluteTimeout?: number
  /**
   * Names the user a session belongs to, enabling `listSessions` and `destroyUserSessions`: a string
   * or a finite number, or `undefined` (or `null`, `''`) for a guest. Anything else, such as the object
   * passport's `serializeUser` may store, is a `SessionError` naming `userId`: `String(object)` would
   * merge every user into one.
   *
   * @example
   * userId: (s) => s.passport?.user
   */
  userId?: (data: DataOf<Data>) => string | number | null | undefined
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
   * Most top-level keys a session may hold; a save beyond it is refused with a `SessionError`
   * (`INVALID_VALUE`) naming `maxKeys`, before anything reaches the store. @default 256
   */
  maxKeys?: number
  /**
   * Most bytes a session may hold: its stored JSON, key names included (ciphertext is larger). A save
   * beyond it is refused with a `SessionError` (`INVALID_VALUE`) naming `maxBytes`. @default 262144 (256 KiB)
   */
  maxBytes?: number
  /**
   * Moves the sessions of koa-session + koa-redis, koa-generic-session or koa-session-redis3 1.x here
   * as their users come back, so switching logs nobody out (README, "Migration"). Needs `app.keys`.
   * @default undefined (old sessions are not read)
   */
  migrate?: MigrateOptions
}

/** What callbacks receive: the app's `SessionData` (typed once augmented), and any other key as unknown. */
export type DataOf<Data = SessionData> = Partial<Data> & Record<string, unknown>

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
  /** The store instance behind `store`, for the middleware's `store` handle; undefined with `ContextStore`. */
  readonly storeInstance: SessionStore | KoaSessionStore | undefined
  readonly saveUninitialized: boolean
  readonly lazy: boolean
  readonly failOpen: boolean
  readonly absoluteTimeout: number
  readonly userId: SessionOptions['userId']
  readonly maxSessionsPerUser: number
  readonly regenerateKeepsData: boolean
  readonly maxKeys: number
  readonly maxBytes: number
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
  // A write at the limits stays well under a millisecond of Redis time: at 1,000 fields or 1 MiB the
  // review measured 2-3 ms (median) per write, scripts cost about four times native HSET per field.
  limits: { maxKeys: 256, maxBytes: 262_144 },
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

/** Every option of SessionOptions: a record, so the compiler keeps the list complete (and without extras). */
export const SESSION_OPTION_NAMES = Object.keys({
  httpOnly: true,
  signed: true,
  overwrite: true,
  secure: true,
  sameSite: true,
  domain: true,
  path: true,
  partitioned: true,
  priority: true,
  key: true,
  maxAge: true,
  autoCommit: true,
  rolling: true,
  renew: true,
  genid: true,
  prefix: true,
  valid: true,
  beforeSave: true,
  externalKey: true,
  store: true,
  ContextStore: true,
  saveUninitialized: true,
  cookie: true,
  header: true,
  lazy: true,
  failOpen: true,
  absoluteTimeout: true,
  userId: true,
  maxSessionsPerUser: true,
  encryptionKeys: true,
  regenerateKeepsData: true,
  maxKeys: true,
  maxBytes: true,
  migrate: true,
} satisfies Record<keyof SessionOptions, true>)
