/** RedisStore: sessions as Redis hashes, one field per top-level key, written by conditional scripts. */
import type { Cluster, Redis } from 'ioredis'
import { debug } from '../debug.js'
import { overBytes, overKeys, SessionError } from '../errors.js'
import { hashId, requiredUserHash, tagOf, userTag } from '../id.js'
import { turnBatch } from './batch.js'
import { type CacheStats, SessionCache } from './cache.js'
import { type Connection, connect, type Endpoint } from './client.js'
import { getWhole, setWhole } from './compat.js'
import { checkEviction } from './eviction.js'
import { badMaxAge, duration, durationOption, idleTimeout, timestamp, touchDue, ttlAt } from './lifetime.js'
import { changing, endOfTurn, ReadThrough } from './read-through.js'
import { addressOf, cacheMax, createClient, type RedisStoreOptions, validate } from './redis-options.js'
import { CREATE, OWNED, REPLACE, RESEAL, UPDATE } from './scripts.js'
import { Tracking } from './tracking.js'
import {
  DEFAULT_MAX_SESSIONS_PER_USER,
  type LoadOptions,
  type LoadResult,
  type MaxAge,
  META,
  type Owner,
  type Reseal,
  type SessionInfo,
  type SessionStore,
  type WriteOptions,
} from './types.js'
import { UserIndex } from './user-index.js'
import { watchdog } from './watchdog.js'

const DEFAULTS = {
  keySchema: 'koa:sess:',
  hashIds: true,
  timeout: 500,
  fallbackTtl: 86_400_000,
} as const

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
  /** The `cache` option's sessions, and the tracking that keeps them true. */
  readonly #cache: SessionCache | undefined
  readonly #tracking: Tracking | undefined
  readonly #reads: ReadThrough | undefined
  readonly #users: UserIndex
  /** Touches not yet answered, by key (see `load`). */
  readonly #touching = new Map<string, Promise<unknown>>()
  #closing: Promise<void> | undefined
  /** Stops the watch for frozen connections of the client the store created (watchdog.ts). */
  readonly #unwatch: (() => void) | undefined
  /** The check of Redis's memory policy (eviction.ts), on first use: at construction a lazy client would connect. */
  #firstUse: (() => void) | undefined

  constructor(options: RedisStoreOptions = {}) {
    const o = validate(options)
    this.ttl = o.ttl === undefined ? undefined : durationOption('store.ttl', o.ttl, 's')
    this.keySchema = o.keySchema ?? DEFAULTS.keySchema
    this.hashIds = o.hashIds ?? DEFAULTS.hashIds
    const timeout = o.timeout ?? DEFAULTS.timeout
    const endpoint: Endpoint = { address: addressOf(o), lastError: undefined }
    if (o.client) {
      this.#connection = connect(o.client, timeout, endpoint)
    } else {
      this.#owned = createClient(o, timeout, endpoint)
      this.#connection = connect(this.#owned, timeout, endpoint, turnBatch(this.#owned))
      // Unless the app asked for ioredis's own `socketTimeout`.
      const frozenAfter = Math.max(4 * timeout, 2000)
      this.#unwatch = o.options?.socketTimeout === undefined ? watchdog(this.#owned, frozenAfter) : undefined
      const max = cacheMax(o)
      if (max !== undefined) {
        const limit = { ms: timeout, endpoint }
        this.#cache = new SessionCache(max)
        this.#tracking = new Tracking(this.#owned, this.#cache, limit)
        this.#reads = new ReadThrough(this.#cache, this.#connection, this.#owned, limit)
      }
    }
    connections.set(this, this.#connection)
    this.#firstUse = () => {
      this.#firstUse = undefined
      void checkEviction(this.#connection, endpoint.address)
    }
    this.#users = new UserIndex(this.keySchema, this.hashIds, this.#connection, (keys, run) =>
      changing(this.#cache, keys, run),
    )
  }

  /**
   * Resolves once Redis answers (a Cluster: once its slot map is known); rejects with the error a
   * request would get, naming the address and cause. Await it at boot to fail there. With `cache`, it
   * then also waits until the cache is `on`, or the first attempt to turn tracking on has failed, for at
   * most `timeout` ms more; it never rejects because of the cache (see `cacheStats().status`).
   * @example await store.ready() // rejects: Redis at 127.0.0.1:6379 cannot be reached (connect ECONNREFUSED …) while connecting
   */
  async ready(): Promise<void> {
    this.#firstUse?.()
    await this.#connection.ping()
    await this.#tracking?.settled()
  }

  /** The Redis key of a session id: the id's tag, then the hash of the id (or the id, with `hashIds: false`). */
  key(id: string): string {
    return `${this.keySchema}{${tagOf(id)}}${this.#users.member(id)}`
  }

  /**
   * One HGETALL, or none when the cache holds the session. The TTL slides only when a touch is due (see
   * docs/DESIGN.md), in the background.
   */
  async load(id: string, o: LoadOptions): Promise<LoadResult> {
    this.#firstUse?.()
    const key = this.key(id)
    // A touch of this session still in flight is waited for: the next read sees the new `_t` (and does
    // not touch again), even when the touch was held up re-sending its script after a NOSCRIPT.
    const touching = this.#touching.get(key)
    if (touching !== undefined) await touching
    const cache = this.#cache
    // Only a read the cache may serve waits for the end of the turn (see endOfTurn): one it cannot serve
    // (a session written on every request is never cached) goes to Redis at once.
    if (cache?.holds(key)) await endOfTurn()
    // A cached session goes through the same checks below: its deadline, its touch (which drops it).
    const fields =
      cache?.get(key) ?? (await (this.#reads ? this.#reads.read(key) : this.#connection.hgetall(key)))
    const createdAt = timestamp(fields._c)
    // No `_c`: nothing, or not a session we wrote; the middleware reports the latter as corrupt.
    if (createdAt === undefined) return Object.keys(fields).length === 0 ? null : fields
    if (badMaxAge(fields)) {
      // Never a cached (frozen) object: the cache does not take a session whose `_m` needs this.
      delete fields._m
      this.#background(
        'repair',
        changing(this.#cache, [key], () => this.#connection.call('HDEL', key, '_m')),
      )
    }
    const ttl = idleTimeout(fields, o.ttl)
    const user = this.#users.ownerOf(id, fields._u)
    if (ttlAt(o.now, ttl, createdAt, o.absoluteTimeout) === 0) {
      // Redis expires it at the deadline by itself; this is a clock that runs ahead of Redis's.
      await this.remove(id, { user })
      return 'expired'
    }
    if (touchDue(o.now, timestamp(fields._t) ?? createdAt, ttl, createdAt, o.absoluteTimeout)) {
      const { now, absoluteTimeout } = o
      const touch: WriteOptions = {
        mode: 'update',
        set: {},
        del: [],
        now,
        ttl,
        absoluteTimeout,
        createdAt,
        user,
      }
      const done = this.#background('touch', this.write(id, touch)).finally(() => this.#touching.delete(key))
      this.#touching.set(key, done)
    }
    return fields
  }

  write(id: string, o: WriteOptions): Promise<boolean> {
    this.#firstUse?.()
    return changing(this.#cache, [this.key(id)], () => this.#write(id, o))
  }

  async #write(id: string, o: WriteOptions): Promise<boolean> {
    const createdAt = o.createdAt ?? timestamp(o.set._c) ?? o.now
    const ttl = ttlAt(o.now, durationOption('ttl', o.ttl, 'ms'), createdAt, o.absoluteTimeout)
    if (ttl === 0) {
      // The absolute lifetime is over: the session must not be written, and goes now.
      if (o.mode !== 'create') await this.remove(id, { user: o.user })
      return false
    }
    const key = this.key(id)
    // The scripts count fields against the cap one by one: a field deleted twice, or both set and
    // deleted (which ends deleted), is sent once, as a deletion.
    const gone = o.del.length === 0 ? undefined : new Set(o.del)
    const del = gone === undefined ? o.del : [...gone]
    const pairs: string[] = []
    for (const field in o.set) if (!gone?.has(field)) pairs.push(field, o.set[field] as string)
    // A new session is touched at its creation time; later writes say when they touched it.
    if (o.mode === 'create') {
      if (o.set._c === undefined) pairs.push(META.createdAt, String(o.now))
    } else pairs.push(META.touchedAt, String(o.now))
    if (o.mode === 'replace') return (await this.#connection.run(REPLACE, [key], [ttl, ...pairs])) === 1
    const user = o.mode === 'create' ? o.set._u : o.user
    const fields = o.maxKeys ?? 0
    const bytes = o.maxBytes ?? 0
    const sealed = o.sealed ? 1 : 0
    if (user === undefined) {
      if (o.mode === 'create') return (await this.#connection.run(CREATE, [key], [ttl, ...pairs])) === 1
      const reply = await this.#connection.run(
        UPDATE,
        [key],
        [ttl, fields, bytes, sealed, pairs.length / 2, ...pairs, ...del],
      )
      return written(reply, o)
    }
    if (userTag(user) !== tagOf(id)) {
      throw new SessionError('UNSUPPORTED', "a user's session id must end with the user's slot tag")
    }
    const mode = o.mode === 'create' ? 'c' : gone?.has(META.user) ? 'l' : 'u'
    const cap = o.maxSessionsPerUser ?? DEFAULT_MAX_SESSIONS_PER_USER
    const args = [
      mode,
      ttl,
      fields,
      bytes,
      sealed,
      pairs.length / 2,
      ...pairs,
      ...del,
      this.#users.member(id),
      o.now + ttl,
      o.now,
      cap,
    ]
    const reply = await this.#connection.run(OWNED, [key, this.#users.key(user)], args)
    if (Array.isArray(reply)) {
      // The user is past `maxSessionsPerUser`: end the least recent sessions beyond it.
      await this.#users.revoke(user, reply as string[], false)
      return true
    }
    return written(reply, o)
  }

  remove(id: string, owner?: Owner): Promise<boolean> {
    const key = this.key(id)
    return changing(this.#cache, [key], () => this.#remove(id, key, owner))
  }

  async #remove(id: string, key: string, owner: Owner | undefined): Promise<boolean> {
    const user = owner
      ? owner.user
      : this.#users.ownerOf(id, await this.#connection.call('HGET', key, META.user))
    if (user === undefined) return (await this.#connection.call('DEL', key)) === 1
    return (await this.#users.revoke(user, [this.#users.member(id)], false)) === 1
  }

  /** The session's tag, then the hash of its id: names its key without being its id. */
  handle(id: string): string {
    return tagOf(id) + hashId(id)
  }

  async reseal(id: string, fields: Reseal[]): Promise<void> {
    const args: string[] = []
    for (const { field, from, to } of fields) args.push(field, from, to)
    const key = this.key(id)
    await changing(this.#cache, [key], () => this.#connection.run(RESEAL, [key], args))
  }

  listSessions(userId: string | number): Promise<SessionInfo[]> {
    return this.#users.list(userId)
  }

  /**
   * Revokes the session of a handle. With `{ userId }`, only if it belongs to that user: a revoke
   * endpoint then cannot end another user's session whose handle leaked. Resolves true when it ended one.
   */
  async destroySession(handle: string, options: { userId?: string | number } = {}): Promise<boolean> {
    // `{ userId: undefined }` (a user record without the field read) must not turn into an unscoped revoke.
    if ('userId' in options) requiredUserHash(options.userId, 'destroySession')
    return this.#users.destroyHandle(handle, options.userId)
  }

  destroyUserSessions(userId: string | number, options: { except?: string } = {}): Promise<number> {
    return this.#users.destroyUser(userId, options.except)
  }

  async count(): Promise<number> {
    return (await this.#connection.scan(`${escapeGlob(this.keySchema)}{*`)).length
  }

  async clear(): Promise<void> {
    const ks = escapeGlob(this.keySchema)
    this.#cache?.clear()
    try {
      await this.#connection.unlink([
        ...(await this.#connection.scan(`${ks}{*`)),
        ...(await this.#connection.scan(`${ks}u:{*`)),
      ])
    } finally {
      this.#cache?.clear()
    }
  }

  /**
   * The session cache's status and counters (see the `cache` option), or undefined without a cache.
   *
   * @example
   * setInterval(() => metrics.gauge('session_cache_size', store.cacheStats()?.size ?? 0), 10_000)
   */
  cacheStats(): CacheStats | undefined {
    return this.#cache?.stats()
  }

  async close(): Promise<void> {
    this.#tracking?.close()
    // Once only: shutdown hooks may call it twice, and ioredis rejects a QUIT on a closed connection.
    if (this.#owned) this.#closing ??= this.#connection.quit()
    await this.#closing
    this.#unwatch?.()
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
    return (typeof maxAge === 'number' ? duration(maxAge) : undefined) ?? this.ttl ?? DEFAULTS.fallbackTtl
  }

  /** Runs a store call nobody waits for; a failure is only logged (the next read tries again). */
  #background(what: string, promise: Promise<unknown>): Promise<unknown> {
    return promise.catch((err: unknown) => debug('%s failed: %s', what, (err as Error).message))
  }
}

/** Each store's connection, for the code that reads other keys on the same Redis (`migrate`); not public API. */
const connections = new WeakMap<object, Connection>()

/** The connection of a RedisStore (undefined for any other store): `migrate` reads old sessions through it by default. */
export function connectionOf(store: unknown): Connection | undefined {
  return typeof store === 'object' && store !== null ? connections.get(store) : undefined
}

/** A write script's reply: 1 written, 0 refused (the session is gone), -1 over the field cap. */
function written(reply: unknown, o: WriteOptions): boolean {
  if (reply === -1) throw overKeys(o.maxKeys as number)
  if (reply === -2) throw overBytes(o.maxBytes as number)
  return reply === 1
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&')
}
