/** The `migrate` option: its type, its checks, and the old layout it resolves to. */
import { invalidOption } from '../errors.js'
import { checkNames } from '../option-names.js'
import { type Connection, connect, type RedisClient } from '../store/client.js'
import { connectionOf } from '../store/redis.js'
import { addressOf } from '../store/redis-options.js'
import { koaGenericSession } from './koa-generic-session.js'
import { koaRedis } from './koa-redis.js'
import { koaSessionRedis3 } from './koa-session-redis3.js'
import type { Layout } from './layout.js'

/** The libraries whose sessions `migrate` reads. */
export type MigrateFrom = 'koa-redis' | 'koa-generic-session' | 'koa-session-redis3'

/**
 * Reads the sessions of the library you are leaving, so that switching logs nobody out: an old
 * cookie's session is moved into this store under a new id on its first request (README, "Migration").
 *
 * @example
 * session({ store, userId: (s) => s.passport?.user, migrate: { from: 'koa-redis' } })
 */
export interface MigrateOptions {
  /** The library the sessions come from: koa-session + koa-redis, koa-generic-session + koa-redis, or koa-session-redis3 1.x. */
  from: MigrateFrom
  /**
   * Prefix of the old Redis keys (koa-redis: an ioredis `keyPrefix`; koa-generic-session: its `prefix`;
   * 1.x: its `store.keySchema`). @default '' for koa-redis and 1.x, 'koa:sess:' for koa-generic-session
   */
  prefix?: string
  /** The old cookie's name. @default the middleware's `key` for koa-redis, 'koa.sid', 'koa:sess' (1.x) */
  key?: string
  /** Where the old sessions live, when that is not the store's Redis (another db, server or Cluster). @default the store's client */
  client?: RedisClient
  /**
   * Accept an old cookie without its signature (a 1.x app that set `cookie: { signed: false }`). 1.x ids
   * are guessable: anyone can then claim a live old session. Keep the window short. @default false
   */
  unsigned?: boolean
}

/** The `migrate` option, validated: which layout, where, and how its cookie is read. */
export interface Migration {
  readonly from: MigrateFrom
  readonly layout: Layout
  readonly prefix: string
  readonly key: string
  readonly signed: boolean
  /** Where the old sessions are read (and their keys replaced). */
  readonly old: Connection
  /** True when `id` has the old library's format: such a cookie is not reported as malformed by ours. */
  isOldId(id: string): boolean
}

const LAYOUTS: Record<MigrateFrom, Layout> = {
  'koa-redis': koaRedis,
  'koa-generic-session': koaGenericSession,
  'koa-session-redis3': koaSessionRedis3,
}

const NAMES = Object.keys({
  from: true,
  prefix: true,
  key: true,
  client: true,
  unsigned: true,
} satisfies Record<keyof MigrateOptions, true>)

/** Bound on each call to a passed-in old client, ms (as the store's default `timeout`). */
const OLD_TIMEOUT = 500

/**
 * Validates `migrate` once, at `session(...)`. `key` is the middleware's cookie name; `store` the
 * store instance, whose connection is used when no `client` is given.
 */
export function resolveMigrate(m: unknown, key: string, store: unknown): Migration {
  if (typeof m !== 'object' || m === null) throw invalidOption('migrate', 'must be an object', m)
  const o = m as MigrateOptions
  checkNames(o, NAMES, 'migrate.')
  const layout = LAYOUTS[o.from]
  if (!Object.hasOwn(LAYOUTS, o.from) || layout === undefined) {
    throw invalidOption('migrate.from', `must be one of ${Object.keys(LAYOUTS).join(', ')}`, o.from)
  }
  const prefix = o.prefix ?? layout.prefix
  // The prefix is used literally in keys and escaped in SCAN patterns; braces would pick a Cluster slot.
  if (typeof prefix !== 'string' || prefix.length > 256 || /[{}\s]/.test(prefix)) {
    throw invalidOption(
      'migrate.prefix',
      'must be a string of up to 256 characters, without braces or spaces',
      prefix,
    )
  }
  const cookie = o.key ?? layout.cookie ?? key
  if (typeof cookie !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z:]+$/.test(cookie)) {
    throw invalidOption('migrate.key', 'must be a cookie name (RFC 6265 token characters)', cookie)
  }
  if (o.unsigned !== undefined && typeof o.unsigned !== 'boolean') {
    throw invalidOption('migrate.unsigned', 'must be a boolean', o.unsigned)
  }
  let old = connectionOf(store)
  if (o.client !== undefined) {
    if (typeof o.client !== 'object' || o.client === null)
      throw invalidOption('migrate.client', 'must be a Redis client', o.client)
    old = connect(o.client, OLD_TIMEOUT, { address: addressOf({ client: o.client }), lastError: undefined })
  }
  if (old === undefined) {
    throw invalidOption('migrate.client', 'must be given when the store is not a RedisStore', o.client)
  }
  const { id } = layout
  return Object.freeze({
    from: o.from,
    layout,
    prefix: layout.prefixOf(prefix),
    key: cookie,
    signed: o.unsigned !== true,
    old,
    isOldId: (value: string) => id.test(value),
  })
}
