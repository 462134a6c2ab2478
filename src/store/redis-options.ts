/** RedisStore's options: their type, their checks, and the ioredis client a store creates from them. */
import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis'
import { debug } from '../debug.js'
import { invalidOption, reason } from '../errors.js'
import { checkNames } from '../option-names.js'
import type { Endpoint, RedisClient } from './client.js'

/** Options of {@link RedisStore}; also accepted as `session({ store: { ... } })`. */
export interface RedisStoreOptions {
  /** A client you own: ioredis / iovalkey (`Redis`, `Cluster`, Sentinel) or node-redis v4+. Never closed by the store. */
  client?: RedisClient
  /** Redis URL (`redis://`, `rediss://`), used when no `client` is given. */
  url?: string
  /** @default '127.0.0.1' */
  host?: string
  /** @default 6379 */
  port?: number
  /** Database index. @default 0 */
  db?: number
  username?: string
  password?: string
  /** TLS options (ioredis `tls`), or `true` for defaults. */
  tls?: boolean | NonNullable<RedisOptions['tls']>
  /** Sentinels to ask for the master named `name` (ioredis Sentinel support). */
  sentinels?: { host: string; port: number }[]
  /** The Sentinel master name, with `sentinels`. */
  name?: string
  /** Startup nodes of a Redis Cluster: the store then creates an ioredis `Cluster`. */
  cluster?: ClusterNode[]
  /** Any other ioredis option, merged last (for a Cluster: the options of each node's connection). */
  options?: RedisOptions
  /**
   * Idle timeout in SECONDS (the seed's unit, the one exception to milliseconds): how long a session
   * lives in Redis after its last use. When absent, the middleware's `maxAge` decides.
   */
  ttl?: number
  /** Prefix of every Redis key, never of the cookie. @default 'koa:sess:' */
  keySchema?: string
  /** Store SHA-256 hashes of ids rather than the ids. Turn off only to reuse data keyed by raw ids. @default true */
  hashIds?: boolean
  /** Bound on every Redis call, ms. @default 500 */
  timeout?: number
  /**
   * Keep the sessions this server reads in process, kept true by Redis's server-assisted client-side
   * caching (`CLIENT TRACKING`): an unchanged read served from it costs no round trip, and a change made
   * by any server drops it everywhere within milliseconds. `true` holds up to 10,000 sessions; `{ max }`
   * sets the bound (least recently used go first). Needs a client the store creates: not with `client`,
   * nor with an ioredis `keyPrefix`. See the README, "Session cache".
   *
   * @default false
   * @example
   * new RedisStore({ url: process.env.REDIS_URL, cache: { max: 50_000 } })
   */
  cache?: boolean | { max?: number }
}

// Every option of RedisStoreOptions, as a record so the compiler keeps it complete.
const OPTION_NAMES = Object.keys({
  client: true,
  url: true,
  host: true,
  port: true,
  db: true,
  username: true,
  password: true,
  tls: true,
  sentinels: true,
  name: true,
  cluster: true,
  options: true,
  ttl: true,
  keySchema: true,
  hashIds: true,
  timeout: true,
  cache: true,
} satisfies Record<keyof RedisStoreOptions, true>)

/** Checks the options of a RedisStore once, at construction. Throws `INVALID_OPTION`. */
export function validate(o: RedisStoreOptions): RedisStoreOptions {
  if (typeof o !== 'object' || o === null) throw invalidOption('store', 'must be an object', o)
  // ioredis options given beside ours (`family`, `connectTimeout`, ...) belong under `options`.
  checkNames(o, OPTION_NAMES, 'store.', 'other ioredis options go under `store.options`')
  // Braces would make Redis hash the schema instead of each id's tag: every session in one slot.
  if (o.keySchema !== undefined && (typeof o.keySchema !== 'string' || /[{}]/.test(o.keySchema))) {
    throw invalidOption('store.keySchema', 'must be a string without { or }', o.keySchema)
  }
  if (o.timeout !== undefined && !(Number.isFinite(o.timeout) && o.timeout > 0)) {
    throw invalidOption('store.timeout', 'must be a positive number of milliseconds', o.timeout)
  }
  if (o.port !== undefined && !(Number.isInteger(o.port) && o.port > 0 && o.port < 65536)) {
    throw invalidOption('store.port', 'must be an integer from 1 to 65535', o.port)
  }
  if (o.cluster !== undefined && !(Array.isArray(o.cluster) && o.cluster.length > 0)) {
    throw invalidOption('store.cluster', 'must be a non-empty array of startup nodes', o.cluster)
  }
  if (o.sentinels !== undefined && !(Array.isArray(o.sentinels) && o.sentinels.length > 0)) {
    throw invalidOption('store.sentinels', 'must be a non-empty array of { host, port }', o.sentinels)
  }
  if (o.sentinels !== undefined && typeof o.name !== 'string') {
    throw invalidOption('store.name', 'must name the Sentinel master when `sentinels` is given', o.name)
  }
  if (o.client !== undefined && (typeof o.client !== 'object' || o.client === null)) {
    throw invalidOption('store.client', 'must be an ioredis, iovalkey or node-redis client', o.client)
  }
  // The scripts build index keys from `keySchema`; a client-side prefix would split them from the sessions.
  const prefix = (o.client as { options?: { keyPrefix?: string } } | undefined)?.options?.keyPrefix
  if (prefix)
    throw invalidOption('store.client', 'must not use ioredis `keyPrefix` (use `keySchema`)', prefix)
  cacheMax(o)
  return o
}

/** The bound of the session cache, or undefined without one. Throws `INVALID_OPTION`. */
export function cacheMax(o: RedisStoreOptions): number | undefined {
  const cache = o.cache
  if (cache === undefined || cache === false) return undefined
  if (cache !== true && (typeof cache !== 'object' || cache === null || Array.isArray(cache))) {
    throw invalidOption('store.cache', 'must be true, false or { max }', cache)
  }
  const max = cache === true ? undefined : cache.max
  if (cache !== true) {
    const unknown = Object.keys(cache).find((k) => k !== 'max')
    if (unknown !== undefined) {
      throw invalidOption(
        `store.cache.${unknown}`,
        'is not an option of the cache (only `max` is)',
        (cache as Record<string, unknown>)[unknown],
      )
    }
  }
  if (max !== undefined && !(Number.isSafeInteger(max) && max > 0)) {
    throw invalidOption('store.cache.max', 'must be a positive integer (a number of sessions)', max)
  }
  // Tracking lives on a connection: it must be turned on again after every reconnect, before any read
  // may fill the cache, and only the client's creator sees the reconnects.
  if (o.client !== undefined) {
    throw invalidOption(
      'store.cache',
      'cannot be used with `store.client`: the store must create its own connections to see their reconnects and enable tracking on them (pass connection options instead)',
      cache,
    )
  }
  // Redis names invalidated keys as stored, with the prefix; the cache knows them without it.
  const keyPrefix = o.options?.keyPrefix
  if (keyPrefix) {
    throw invalidOption(
      'store.options.keyPrefix',
      'cannot be used with `store.cache` (use `keySchema`)',
      keyPrefix,
    )
  }
  return max ?? CACHE_MAX
}

/** Sessions a `cache: true` holds: a few MB for small sessions (README, "Session cache"). */
const CACHE_MAX = 10_000

// ioredis 6 types `replyMapping` as optional-or-undefined in RedisOptions but as optional only where its
// constructors take them, which `exactOptionalPropertyTypes` tells apart.
type ClientOptions = RedisOptions & { replyMapping?: NonNullable<RedisOptions['replyMapping']> }

/** The ioredis client a store creates from its options (standalone, Sentinel or Cluster). */
export function createClient(o: RedisStoreOptions, timeout: number, endpoint: Endpoint): Redis | Cluster {
  const options: ClientOptions = {
    // Fail a command after one reconnect attempt instead of ioredis's 20; our own bound is `timeout`.
    maxRetriesPerRequest: 1,
    ...(o.host === undefined ? {} : { host: o.host }),
    ...(o.port === undefined ? {} : { port: o.port }),
    ...(o.db === undefined ? {} : { db: o.db }),
    ...(o.username === undefined ? {} : { username: o.username }),
    ...(o.password === undefined ? {} : { password: o.password }),
    ...(o.tls === undefined || o.tls === false ? {} : { tls: o.tls === true ? {} : o.tls }),
    connectTimeout: Math.max(timeout, 1000),
    ...(o.options as ClientOptions | undefined),
  }
  const client = o.cluster
    ? new Cluster(o.cluster, { redisOptions: options })
    : o.sentinels
      ? new Redis({ ...options, sentinels: o.sentinels, name: o.name as string })
      : o.url === undefined
        ? new Redis(options)
        : new Redis(o.url, options)
  // Without a listener ioredis prints every reconnect error; failures reach requests as SessionError,
  // whose message repeats the last one (ioredis's own error after its retries names no cause).
  client.on('error', (err: Error) => {
    endpoint.lastError = reason(err)
    debug('redis client error: %s', err.message)
  })
  client.on('ready', () => {
    endpoint.lastError = undefined
  })
  return client
}

/** True for an ioredis Cluster, which has no connection of its own, only one per node. */
export function isCluster(client: Redis | Cluster): client is Cluster {
  return typeof (client as Cluster).nodes === 'function'
}

/** Where the options point, for error messages: never a password. */
export function addressOf(o: RedisStoreOptions): string {
  const list = (nodes: readonly { host?: string | undefined; port?: number | undefined }[]) =>
    nodes.map((n) => `${n.host ?? '127.0.0.1'}:${n.port ?? 6379}`).join(', ')
  if (o.client) return clientAddress(o.client)
  if (o.cluster) return `the Cluster of ${list(o.cluster as { host?: string; port?: number }[])}`
  if (o.sentinels) return `Sentinel master ${o.name} via ${list(o.sentinels)}`
  if (o.url !== undefined) {
    try {
      const url = new URL(o.url)
      return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`
    } catch {
      return 'the URL given'
    }
  }
  return `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`
}

/** A passed-in client's address as far as its options tell (ioredis `options`, node-redis `options`). */
function clientAddress(client: RedisClient): string {
  const options = (client as { options?: { host?: string; port?: number; url?: string } }).options
  if (options?.url) return addressOf({ url: options.url })
  if (options?.host !== undefined || options?.port !== undefined) return addressOf({ ...options })
  return 'the client given'
}
