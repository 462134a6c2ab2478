/** RedisStore: sessions as Redis hashes, one field per top-level key, written by conditional scripts. */
import { Cluster, type ClusterNode, Redis, type RedisOptions } from 'ioredis'
import { debug } from '../debug.js'
import { invalidOption, SessionError } from '../errors.js'
import { hashId, slotTag } from '../id.js'
import { type Connection, connect, type RedisClient } from './client.js'
import { getWhole, setWhole } from './compat.js'
import { DESTROY, DESTROY_USER, LIST, LOAD, WRITE } from './scripts.js'
import type {
  LoadOptions,
  LoadResult,
  MaxAge,
  SessionInfo,
  SessionStore,
  StoredFields,
  WriteOptions,
} from './types.js'

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
}

const DEFAULTS = { keySchema: 'koa:sess:', hashIds: true, timeout: 500, fallbackTtl: 86_400_000 } as const

/**
 * A session store on Redis. Create it from connection options, or hand it your client.
 *
 * @example
 * const store = new RedisStore({ url: process.env.REDIS_URL, keySchema: 'app:sess:' })
 * app.use(session({ store }))
 */
export class RedisStore implements SessionStore {
  /** Idle timeout from `ttl`, ms, or undefined to follow the middleware's `maxAge`. */
  readonly ttl: number | undefined
  readonly keySchema: string
  readonly hashIds: boolean
  readonly #connection: Connection
  readonly #owned: Redis | Cluster | undefined
  #closing: Promise<void> | undefined

  constructor(options: RedisStoreOptions = {}) {
    const o = validate(options)
    this.ttl = o.ttl === undefined ? undefined : o.ttl * 1000
    this.keySchema = o.keySchema ?? DEFAULTS.keySchema
    this.hashIds = o.hashIds ?? DEFAULTS.hashIds
    const timeout = o.timeout ?? DEFAULTS.timeout
    if (o.client) {
      this.#connection = connect(o.client, timeout)
    } else {
      this.#owned = createClient(o, timeout)
      this.#connection = connect(this.#owned, timeout)
    }
  }

  /** The Redis key of a session id. */
  key(id: string): string {
    const hash = hashId(id)
    return `${this.keySchema}{${slotTag(hash)}}${this.hashIds ? hash.slice(1) : id}`
  }

  async load(id: string, o: LoadOptions): Promise<LoadResult> {
    const reply = await this.#connection.run(
      LOAD,
      [this.key(id)],
      [this.keySchema, o.now, o.ttl, o.absoluteTimeout],
    )
    if (reply === 0) return 'expired'
    if (!Array.isArray(reply)) return null
    const fields: StoredFields = {}
    for (let i = 0; i < reply.length; i += 2) fields[reply[i] as string] = reply[i + 1] as string
    return fields
  }

  async write(id: string, o: WriteOptions): Promise<boolean> {
    const args: (string | number)[] = [this.keySchema, o.mode.charAt(0), o.now, o.ttl, o.absoluteTimeout, 0]
    let n = 0
    for (const field in o.set) {
      args.push(field, o.set[field] as string)
      n++
    }
    args[5] = n
    args.push(...o.del)
    return (await this.#connection.run(WRITE, [this.key(id)], args)) === 1
  }

  async remove(id: string): Promise<boolean> {
    return (await this.#connection.run(DESTROY, [this.key(id)], [this.keySchema])) === 1
  }

  async listSessions(userId: string): Promise<SessionInfo[]> {
    const reply = (await this.#connection.run(LIST, [this.#indexKey(userId)], [this.keySchema])) as string[]
    const list: SessionInfo[] = []
    for (let i = 0; i < reply.length; i += 4) {
      list.push({
        handle: this.#handle(reply[i] as string),
        createdAt: Number(reply[i + 1]),
        lastSeenAt: Number(reply[i + 2]),
        userAgent: reply[i + 3] || undefined,
      })
    }
    return list
  }

  async destroySession(handle: string): Promise<void> {
    if (!this.hashIds) {
      throw new SessionError('UNSUPPORTED', '`destroySession` needs `hashIds: true` (handles are hashes)')
    }
    if (!/^[A-Za-z0-9_-]{43}$/.test(handle)) return
    await this.#connection.run(
      DESTROY,
      [`${this.keySchema}{${handle.charAt(0)}}${handle.slice(1)}`],
      [this.keySchema],
    )
  }

  async destroyUserSessions(userId: string, options: { except?: string } = {}): Promise<number> {
    const keep = options.except === undefined ? '' : this.key(options.except).slice(this.keySchema.length)
    return Number(await this.#connection.run(DESTROY_USER, [this.#indexKey(userId)], [this.keySchema, keep]))
  }

  async count(): Promise<number> {
    return (await this.#connection.scan(`${escapeGlob(this.keySchema)}{*`)).length
  }

  async clear(): Promise<void> {
    const ks = escapeGlob(this.keySchema)
    await this.#connection.unlink([
      ...(await this.#connection.scan(`${ks}{*`)),
      ...(await this.#connection.scan(`${ks}u:{*`)),
    ])
  }

  async close(): Promise<void> {
    // Once only: shutdown hooks may call it twice, and ioredis rejects a QUIT on a closed connection.
    if (this.#owned) this.#closing ??= this.#connection.quit()
    await this.#closing
  }

  // koa-session's contract, so this store also plugs into koa-session 7. The whole session is one
  // value there, so `set` replaces (koa-session has no notion of changed keys).

  async get(key: string, maxAge: MaxAge | undefined): Promise<Record<string, unknown> | null> {
    return getWhole(this, key, this.#ttl(maxAge))
  }

  async set(key: string, sess: Record<string, unknown>, maxAge: MaxAge | undefined): Promise<void> {
    await setWhole(this, key, sess, this.#ttl(maxAge))
  }

  async destroy(key: string): Promise<void> {
    await this.remove(key)
  }

  #ttl(maxAge: MaxAge | undefined): number {
    return typeof maxAge === 'number' ? maxAge : (this.ttl ?? DEFAULTS.fallbackTtl)
  }

  #indexKey(userId: string): string {
    const hash = hashId(userId)
    return `${this.keySchema}u:{${slotTag(hash)}}${hash.slice(1)}`
  }

  #handle(member: string): string {
    // member is `{t}rest`: with hashed ids that is the hash itself; otherwise hash the raw id.
    const tag = member.charAt(1)
    const rest = member.slice(3)
    return this.hashIds ? tag + rest : hashId(rest)
  }
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&')
}

function validate(o: RedisStoreOptions): RedisStoreOptions {
  if (typeof o !== 'object' || o === null) throw invalidOption('store', 'must be an object', o)
  if (o.ttl !== undefined && !(Number.isFinite(o.ttl) && o.ttl > 0)) {
    throw invalidOption('store.ttl', 'must be a positive number of SECONDS', o.ttl)
  }
  if (o.keySchema !== undefined && typeof o.keySchema !== 'string') {
    throw invalidOption('store.keySchema', 'must be a string', o.keySchema)
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
  return o
}

function createClient(o: RedisStoreOptions, timeout: number): Redis | Cluster {
  const options: RedisOptions = {
    // Fail a command after one reconnect attempt instead of ioredis's 20; our own bound is `timeout`.
    maxRetriesPerRequest: 1,
    ...(o.host === undefined ? {} : { host: o.host }),
    ...(o.port === undefined ? {} : { port: o.port }),
    ...(o.db === undefined ? {} : { db: o.db }),
    ...(o.username === undefined ? {} : { username: o.username }),
    ...(o.password === undefined ? {} : { password: o.password }),
    ...(o.tls === undefined || o.tls === false ? {} : { tls: o.tls === true ? {} : o.tls }),
    connectTimeout: Math.max(timeout, 1000),
    ...o.options,
  }
  const client = o.cluster
    ? new Cluster(o.cluster, { redisOptions: options })
    : o.sentinels
      ? new Redis({ ...options, sentinels: o.sentinels, name: o.name as string })
      : o.url === undefined
        ? new Redis(options)
        : new Redis(o.url, options)
  // Without a listener ioredis prints every reconnect error; failures reach requests as SessionError.
  client.on('error', (err: Error) => debug('redis client error: %s', err.message))
  return client
}
