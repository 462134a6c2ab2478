/** How RedisStore reads and writes through its session cache, so that Redis tracks only keys that hold sessions. */
import type { Cluster, Redis } from 'ioredis'
import { debug } from '../debug.js'
import type { SessionCache } from './cache.js'
import { bounded, type Connection, fieldsOf, type Limit } from './client.js'
import { badMaxAge, timestamp } from './lifetime.js'
import { UNTRACK } from './scripts.js'
import type { StoredFields } from './types.js'

/**
 * A session that expires sooner than this (or than the store's `timeout`, if longer) is not worth a
 * tracked read: had it expired by the time that read ran, Redis would track a key that holds nothing.
 */
const FILL_MARGIN_MS = 1_000

let turn: Promise<void> | undefined

/**
 * Resolves in the check phase of this event-loop turn, after its I/O callbacks: one promise (one
 * `setImmediate`) for every caller in the turn. A cached read waits for it, so an invalidation read in
 * the same turn is applied before the entry is looked up, and the responses of a turn's cached reads are
 * written together, as they are after a Redis reply. Answering each request in the tick that parsed it
 * cost 1.7× the CPU per request on loopback (bench/README.md, "What the profiles showed").
 */
export function endOfTurn(): Promise<void> {
  turn ??= new Promise((resolve) =>
    setImmediate(() => {
      turn = undefined
      resolve()
    }),
  )
  return turn
}

/**
 * The reads of a store with a cache that the cache could not serve. Tracking is OPTIN (`tracking.ts`):
 * a plain read leaves nothing in Redis's tracking table, whatever it finds, so the read a request waits
 * for is always a plain HGETALL. A key that such a read found holding a session, and that has not changed
 * here since (or whose cached copy was served before it changed), gets a tracked read on its next read,
 * sent in the background right after that read's plain HGETALL found the session still there:
 * `CLIENT CACHING YES`, HGETALL, PTTL, whose reply fills the cache. An anonymous visitor, an unknown,
 * expired or forged id, or a session changed on every request never costs Redis a tracking entry
 * (docs/DESIGN.md, "The session cache").
 */
export class ReadThrough {
  readonly #cache: SessionCache
  readonly #connection: Connection
  /** The store's own client: the tracked read must go out on the connection that tracks. */
  readonly #client: Redis | Cluster
  readonly #limit: Limit
  readonly #margin: number
  /** Off for good once Redis refused CLIENT CACHING itself (an ACL, a renamed command): no fill could succeed. */
  #fills = true

  constructor(cache: SessionCache, connection: Connection, client: Redis | Cluster, limit: Limit) {
    this.#cache = cache
    this.#connection = connection
    this.#client = client
    this.#limit = limit
    this.#margin = Math.max(FILL_MARGIN_MS, limit.ms)
  }

  /** The fields of `key` from Redis (the cache did not have them), filling the cache when that is safe. */
  async read(key: string): Promise<StoredFields> {
    const cache = this.#cache
    if (cache.status !== 'on' || !this.#fills) return this.#connection.hgetall(key)
    if (!cache.present(key)) {
      const fields = await this.#connection.hgetall(key)
      cache.mark(key, isSession(fields))
      return fields
    }
    // Sent back to back on one connection: one round trip. The PTTL tells whether a fill is worth it.
    const [fields, ttl] = await Promise.all([
      this.#connection.hgetall(key),
      this.#connection.call('PTTL', key),
    ])
    const session = isSession(fields)
    cache.mark(key, session)
    if (session && Number(ttl) >= this.#margin && cache.wants(key)) void this.#fill(key)
    return fields
  }

  /**
   * The tracked read. The plain read just before it found a session: the key can have gone since only
   * in the round trip between the two (a logout on another server at that very moment), which would
   * leave one entry in Redis's tracking table until the key is created again.
   */
  async #fill(key: string): Promise<void> {
    const ticket = this.#cache.begin(key)
    if (ticket === undefined) return
    let fields: StoredFields | undefined
    let pttl = 0
    try {
      // CLIENT CACHING YES applies to the very next command of the connection: a pipeline writes the
      // three in one go, and in a Cluster sends them to the node of the key (a keyless call goes anywhere).
      const replies = await bounded(
        this.#client
          .pipeline()
          .call('CLIENT', 'CACHING', 'YES')
          .call('HGETALL', key)
          .call('PTTL', key)
          .exec(),
        'filling the cache (CLIENT CACHING YES, HGETALL)',
        this.#limit,
      )
      const [caching, read, ttl] = replies ?? []
      if (/^(NOPERM|ERR unknown)/.test((caching?.[0] as Error | null)?.message ?? '')) {
        this.#fills = false
        debug('cache: Redis refuses CLIENT CACHING (an ACL or a renamed command): the cache will not fill')
      }
      // Tracking off (a reconnect in between): the HGETALL was not tracked, so it must not fill.
      const failed = caching?.[0] ?? read?.[0] ?? ttl?.[0] ?? (caching?.[1] === 'OK' ? null : caching)
      if (failed !== null) throw failed instanceof Error ? failed : new Error('no reply to CLIENT CACHING')
      fields = fieldsOf(read?.[1])
      pttl = Number(ttl?.[1])
      // Gone since the plain read: the tracked read left an entry in Redis's table that nothing would end.
      if (pttl === -2) void this.#connection.run(UNTRACK, [key], []).catch(() => undefined)
    } catch (err) {
      fields = undefined
      debug('cache: a tracked read failed: %s', (err as Error).message)
    } finally {
      this.#cache.end(ticket, fields !== undefined && isSession(fields) ? fields : undefined, pttl)
    }
  }
}

/**
 * Runs a write of `keys` (nothing to do without a cache): their cached copies are dropped before it
 * is sent and again once it is answered, so no read in flight meanwhile fills the cache with what it
 * replaced, and the next read here sees the write whenever the invalidation Redis sends for it arrives.
 */
export function changing<T>(
  cache: SessionCache | undefined,
  keys: string[],
  run: () => Promise<T>,
): Promise<T> {
  // Not an async function: without a cache (the common case) the write's own promise is returned as it is.
  return cache === undefined ? run() : dropping(cache, keys, run)
}

async function dropping<T>(cache: SessionCache, keys: string[], run: () => Promise<T>): Promise<T> {
  for (const key of keys) cache.drop(key)
  try {
    return await run()
  } finally {
    for (const key of keys) cache.drop(key)
  }
}

/** A session this store wrote (with `_c`), and none whose `_m` the read must repair: the cache may hold it. */
function isSession(fields: StoredFields): boolean {
  return timestamp(fields._c) !== undefined && !badMaxAge(fields)
}
