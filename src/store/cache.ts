/** The in-process session cache of RedisStore's `cache` option: entries, reads in flight, and its status. */
import { performance } from 'node:perf_hooks'
import type { Connection } from './client.js'
import { badMaxAge, timestamp } from './lifetime.js'
import type { StoredFields } from './types.js'

/**
 * The lifecycle of a session cache (docs/DESIGN.md, "The session cache"):
 * `off` ──connected──▶ `enabling` ──tracking confirmed──▶ `on`, and back to `off` on any loss of
 * tracking; `closed` with the store. Only `on` serves or fills entries; leaving `on` empties the cache.
 */
export type CacheStatus = 'off' | 'enabling' | 'on' | 'closed'

/**
 * Counters of a session cache, for monitoring its hit rate and its losses of tracking.
 *
 * @example
 * const { hits, misses } = store.cacheStats() as CacheStats
 * console.log(`session cache hit rate ${(hits / (hits + misses || 1)).toFixed(2)}`)
 */
export interface CacheStats {
  /** Where the cache is in its lifecycle; only `on` serves reads. */
  status: CacheStatus
  /** Sessions held now (at most `max`). */
  size: number
  /** The bound on `size`. */
  max: number
  /** Reads served from the cache. */
  hits: number
  /** Reads that went to Redis (not cached, expired, or the cache was not `on`). */
  misses: number
  /** Keys Redis said changed (any server's write, expiry, eviction), and keys this store wrote. */
  invalidations: number
  /** Times the whole cache was emptied: a flush, a lost or re-established connection, a topology change. */
  flushes: number
}

interface Entry {
  readonly fields: StoredFields
  /** `performance.now()` by which Redis will have expired the key (its PTTL, counted from before the read). */
  readonly expiresAt: number
}

/** The reads of one key in flight; `stale` once the key changed (or the cache emptied) while they were. */
interface Reading {
  readonly epoch: number
  stale: boolean
  count: number
}

/** What a read that may fill the cache holds until its reply is in. */
export interface Ticket {
  readonly key: string
  readonly reading: Reading
  /** `performance.now()` just before the read was sent: the PTTL counts from no earlier. */
  readonly sentAt: number
}

/**
 * Cached sessions by Redis key, at most `max`, evicted least recently used first in two generations
 * (a `Map` that deletes its oldest key on every insert scans V8's holes; dropping a whole generation does
 * not). It knows nothing of Redis: the tracking (`tracking.ts`) says when it may serve (`become`, `confirm`)
 * and what changed (`drop`, `clear`).
 *
 * The rule that keeps it true: an entry is filled only from a read sent while the cache was `on` and
 * answered with no change of that key, no flush and no loss of tracking in between (`begin`, `end`).
 */
export class SessionCache {
  readonly max: number
  #status: CacheStatus = 'off'
  /** Bumped by everything that empties the cache: reads begun before it never fill. */
  #epoch = 0
  /** `performance.now()` until which the invalidation channel is known to be live (see `confirm`). */
  #freshUntil = 0
  #young = new Map<string, Entry>()
  #old = new Map<string, Entry>()
  /** Entries per generation. */
  readonly #limit: number
  /** With `max: 1` a second generation would hold a second entry. */
  readonly #keepOld: boolean
  readonly #reading = new Map<string, Reading>()
  #hits = 0
  #misses = 0
  #invalidations = 0
  #flushes = 0

  constructor(max: number) {
    this.max = max
    this.#limit = Math.max(1, Math.floor(max / 2))
    this.#keepOld = 2 * this.#limit <= max
  }

  /** Where the cache is in its lifecycle. */
  get status(): CacheStatus {
    return this.#status
  }

  /** Entries held now. */
  get size(): number {
    return this.#young.size + this.#old.size
  }

  /** The one place the status changes. Leaving `on` empties the cache: what it holds can no longer be vouched for. */
  become(status: CacheStatus): void {
    if (this.#status === 'closed' || this.#status === status) return
    if (this.#status === 'on') this.clear()
    this.#status = status
  }

  /**
   * Extends the lease: every invalidation Redis sent before `sentAt` has been applied (a PING sent then on
   * the invalidation channel was answered). Entries are served only within `lease` ms of it, so a channel
   * that died silently (a half-open TCP connection) cannot keep stale entries alive for longer.
   */
  confirm(sentAt: number, lease: number): void {
    this.#freshUntil = Math.max(this.#freshUntil, sentAt + lease)
  }

  /** The cached fields of `key` (frozen), or undefined: not cached, expired, or the cache cannot vouch for it now. */
  get(key: string): StoredFields | undefined {
    if (this.#status !== 'on') return this.#miss()
    const now = performance.now()
    if (now >= this.#freshUntil) return this.#miss()
    let entry = this.#young.get(key)
    if (entry === undefined) {
      entry = this.#old.get(key)
      if (entry === undefined) return this.#miss()
      // Used again: into the young generation, so the next rotation keeps it.
      this.#old.delete(key)
      this.#put(key, entry)
    }
    if (now >= entry.expiresAt) {
      // Redis expires keys lazily or by sampling: its invalidation may come late, the expiry is known now.
      this.#young.delete(key)
      return this.#miss()
    }
    this.#hits++
    return entry.fields
  }

  /** Registers a read of `key` about to be sent; undefined when its reply may not fill the cache. */
  begin(key: string): Ticket | undefined {
    if (this.#status !== 'on') return undefined
    let reading = this.#reading.get(key)
    if (reading === undefined) {
      reading = { epoch: this.#epoch, stale: false, count: 0 }
      this.#reading.set(key, reading)
    }
    reading.count++
    return { key, reading, sentAt: performance.now() }
  }

  /**
   * Ends a read begun with `begin`, caching `fields` (which it freezes) for `pttl` ms from the ticket's
   * `sentAt`, unless the key changed, the cache was emptied or tracking was lost while the read was in
   * flight. `fields` undefined: nothing to cache (an error, no session).
   */
  end(ticket: Ticket, fields: StoredFields | undefined, pttl: number): void {
    const { key, reading } = ticket
    if (--reading.count === 0 && this.#reading.get(key) === reading) this.#reading.delete(key)
    if (fields === undefined || !(pttl > 0) || reading.stale) return
    if (reading.epoch !== this.#epoch || this.#status !== 'on') return
    this.#put(key, { fields: Object.freeze(fields), expiresAt: ticket.sentAt + pttl })
  }

  /** `key` changed (in Redis, or by this store): forget it, and keep any read of it in flight from filling. */
  drop(key: string): void {
    this.#invalidations++
    if (!this.#young.delete(key)) this.#old.delete(key)
    const reading = this.#reading.get(key)
    if (reading !== undefined) {
      reading.stale = true
      this.#reading.delete(key)
    }
  }

  /** Anything may have changed (a flush, a lost connection): forget everything, and every read in flight. */
  clear(): void {
    this.#flushes++
    this.#epoch++
    this.#young.clear()
    this.#old.clear()
    for (const reading of this.#reading.values()) reading.stale = true
    this.#reading.clear()
  }

  /** A snapshot of the counters. */
  stats(): CacheStats {
    return {
      status: this.#status,
      size: this.size,
      max: this.max,
      hits: this.#hits,
      misses: this.#misses,
      invalidations: this.#invalidations,
      flushes: this.#flushes,
    }
  }

  #miss(): undefined {
    this.#misses++
    return undefined
  }

  #put(key: string, entry: Entry): void {
    if (!this.#young.has(key) && this.#young.size >= this.#limit) {
      this.#old = this.#keepOld ? this.#young : new Map()
      this.#young = new Map()
    }
    this.#old.delete(key)
    this.#young.set(key, entry)
  }
}

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
 * HGETALL of `key` through `cache`, with its PTTL in the same round trip: the reply is cached when it is a
 * session (with `_c`, and no `_m` that the read must repair) and nothing changed while it was in flight.
 */
export async function readThrough(
  cache: SessionCache,
  connection: Connection,
  key: string,
): Promise<StoredFields> {
  const ticket = cache.begin(key)
  if (ticket === undefined) return connection.hgetall(key)
  let fields: StoredFields | undefined
  let pttl = 0
  try {
    // Sent back to back on one connection: one round trip, answered in order.
    const [read, ttl] = await Promise.all([connection.hgetall(key), connection.call('PTTL', key)])
    fields = read
    pttl = Number(ttl)
    return read
  } finally {
    const session = fields !== undefined && timestamp(fields._c) !== undefined && !badMaxAge(fields)
    cache.end(ticket, session ? fields : undefined, pttl)
  }
}

/**
 * Runs a write of `keys` (nothing to do without a cache): their cached copies are dropped before it
 * is sent and again once it is answered, so no read in flight meanwhile fills the cache with what it
 * replaced, and the next read here sees the write (and tracks the key again) whenever the invalidation
 * Redis sends for it arrives.
 */
export async function changing<T>(
  cache: SessionCache | undefined,
  keys: string[],
  run: () => Promise<T>,
): Promise<T> {
  if (cache === undefined) return run()
  for (const key of keys) cache.drop(key)
  try {
    return await run()
  } finally {
    for (const key of keys) cache.drop(key)
  }
}
