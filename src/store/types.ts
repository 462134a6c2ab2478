/** The store contracts: koa-session's, which any store may implement, and the richer one our stores speak. */
import type { Context } from 'koa'

/** A session's `maxAge` as koa-session passes it to stores: milliseconds, or `'session'` for a browser-session cookie. */
export type MaxAge = number | 'session'

/**
 * The koa-session 7 store contract. Any such store plugs into `session({ store })`, and our
 * `RedisStore` and `MemoryStore` implement it too, so they plug into koa-session.
 *
 * @example
 * const store: KoaSessionStore = { get: (k) => map.get(k), set: (k, v) => void map.set(k, v), destroy: (k) => void map.delete(k) }
 */
export interface KoaSessionStore {
  get(key: string, maxAge: MaxAge | undefined, options: { rolling: boolean; ctx: Context }): unknown
  set(
    key: string,
    sess: Record<string, unknown>,
    maxAge: MaxAge | undefined,
    options: { rolling: boolean; changed: boolean; ctx: Context },
  ): unknown
  destroy(key: string, options: { ctx: Context }): unknown
}

/**
 * A session as stored: one field per top-level key of the session (its encoded value), plus
 * the reserved metadata fields of {@link META}. Keys starting with `_` are never session data,
 * as in koa-session.
 */
export type StoredFields = Record<string, string>

/** Reserved metadata fields, kept beside the data fields of a session. */
export const META = {
  /** Creation time, ms since the epoch. Set by the store on create; drives `absoluteTimeout`. */
  createdAt: '_c',
  /** When the store last set the TTL (a write, or a read's touch), ms; `listSessions` calls it `lastSeenAt`. */
  touchedAt: '_t',
  /** Per-session `maxAge` when the app changed it (`ctx.session.maxAge = ...`). */
  maxAge: '_m',
  /** Expiry of the cookie last sent, ms; only kept with `renew`. */
  cookieExpires: '_e',
  /** Hash of the user id, when `userId` says whom the session belongs to. */
  user: '_u',
  /** User agent of the request that created the session (for `listSessions`). */
  userAgent: '_a',
  /** With `encryptionKeys`: the tag that authenticates `_c`, `_m` and `_u`. */
  tag: '_v',
} as const

/** Sessions a user may hold before a login ends the least recently active (`maxSessionsPerUser`). */
export const DEFAULT_MAX_SESSIONS_PER_USER = 100

/** Every metadata field name, end to end (`_c_t_m…`): each is two characters, so a substring test finds them. */
const META_NAMES = Object.values(META).join('')

/** True for the reserved metadata fields of {@link META}: never session data. */
export function isMeta(field: string): boolean {
  return field.length === 2 && field.charCodeAt(0) === 95 /* _ */ && META_NAMES.includes(field)
}

/** What a load needs to know to enforce the timeouts on the server side. */
export interface LoadOptions {
  /** Current time, ms (injected, so tests can move the clock). */
  now: number
  /** Idle timeout, ms: the TTL the session slides to (a stored `_m` takes precedence). */
  ttl: number
  /** Absolute lifetime since creation, ms, or 0 for none. */
  absoluteTimeout: number
}

/** A write: `create` refuses an existing id; `update` and `replace` refuse a missing (destroyed, expired) one. */
export interface WriteOptions extends LoadOptions {
  mode: 'create' | 'update' | 'replace'
  /**
   * Fields to set (data and metadata), already encoded. `_u` (the owner) is given on `create` only:
   * a session's owner never changes under its id (a login moves the session to a new id).
   */
  set: StoredFields
  /** Fields to delete. Deleting `_u` takes the session out of its user's index (a logout that keeps the session). */
  del: string[]
  /** Creation time of the session, ms: with `absoluteTimeout`, the TTL never reaches past it. @default set._c, else now */
  createdAt?: number
  /** On `update`: the owner (`_u`) the stored session has, so its index is kept. */
  user?: string | undefined
  /** On `create` with an owner: the user's other sessions beyond this count are ended, least recent first. @default {@link DEFAULT_MAX_SESSIONS_PER_USER} */
  maxSessionsPerUser?: number
  /**
   * On `update`: refuse (throw `INVALID_VALUE`) a write after which the stored session would hold more
   * data fields than this, counting what other requests wrote meanwhile. @default no limit
   */
  maxKeys?: number | undefined
  /**
   * On `update`: refuse (throw `INVALID_VALUE`) a write that grows the session's data past this many
   * bytes of JSON, names included, counting what other requests wrote meanwhile. @default no limit
   */
  maxBytes?: number | undefined
  /** The values are sealed (`encryptionKeys`; see `Codec.sealed`): `maxBytes` counts the JSON they hold. */
  sealed?: boolean | undefined
}

/** A field to re-seal with the newest encryption key, only where the store still holds `from`. */
export interface Reseal {
  field: string
  from: string
  to: string
}

/** What a request knows of a session's owner when it removes it; without it the store looks it up. */
export interface Owner {
  /** The `_u` of the stored session, or undefined when it has no owner. */
  user: string | undefined
}

/** The result of a load: the stored fields, `null` when unknown, `'expired'` when the absolute timeout ended it. */
export type LoadResult = StoredFields | null | 'expired'

/** One of a user's live sessions, as `listSessions` returns it. */
export interface SessionInfo {
  /** Identifies the session for `destroySession`; it is not the session id and cannot be turned into one. */
  handle: string
  /** Creation time, ms since the epoch. */
  createdAt: number
  /** Last time the session was written or read (at a one-minute granularity), ms since the epoch. */
  lastSeenAt: number
  /** The `User-Agent` of the request that created the session, if any. */
  userAgent: string | undefined
}

/**
 * The contract between the middleware and our stores (`RedisStore`, `MemoryStore`). Every write is
 * conditional, which is what makes concurrent requests merge and destroyed sessions stay dead.
 */
export interface SessionStore extends KoaSessionStore {
  /** Reads a session and slides its TTL, in one step. */
  load(id: string, options: LoadOptions): Promise<LoadResult>
  /** Applies a change; resolves `false` when the condition of `mode` does not hold (nothing written). */
  write(id: string, options: WriteOptions): Promise<boolean>
  /**
   * Deletes a session and its entry in its user's index. Resolves `true` when it still existed,
   * so a request can tell that another one destroyed its session meanwhile.
   */
  remove(id: string, owner?: Owner): Promise<boolean>
  /**
   * Re-seals fields that an older encryption key sealed, each only if its stored value is still
   * `from`: a concurrent change made by another request is never overwritten (key rotation).
   */
  reseal(id: string, fields: Reseal[]): Promise<void>
  /** The handle `listSessions` gives the session of `id` (for instance to mark "this device"). */
  handle(id: string): string
  /** The live sessions of a user (needs the `userId` option of the middleware). */
  listSessions(userId: string | number): Promise<SessionInfo[]>
  /**
   * Revokes one session by the handle `listSessions` gave. With `{ userId }`, only if the session
   * belongs to that user. Resolves true when a session was ended.
   */
  destroySession(handle: string, options?: { userId?: string | number }): Promise<boolean>
  /** Revokes every session of a user, except the one whose id is `except`. Resolves the number revoked. */
  destroyUserSessions(userId: string | number, options?: { except?: string }): Promise<number>
  /** Number of live sessions in the store. */
  count(): Promise<number>
  /** Deletes every session (and index) of this store's key schema. */
  clear(): Promise<void>
  /** Releases what the store created (a client it opened, timers). */
  close(): Promise<void>
}

/** The store operations one request uses (koa-session stores have no `reseal`: they hold no ciphertext). */
export type RequestStore = Pick<SessionStore, 'load' | 'write' | 'remove'> &
  Partial<Pick<SessionStore, 'reseal'>>

/** True when `store` speaks our richer contract rather than koa-session's alone. */
export function isSessionStore(store: unknown): store is SessionStore {
  const s = store as Partial<SessionStore> | null
  return typeof s?.load === 'function' && typeof s.write === 'function' && typeof s.remove === 'function'
}
