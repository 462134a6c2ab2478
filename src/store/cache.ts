/** The in-process session cache of RedisStore's `cache` option: entries, reads in flight, and its status. */
import { performance } from 'node:perf_hooks'
import type { StoredFields } from './types.js'

/**
 * The lifecycle of a session cache (docs/DESIGN.md, "The session cache"):
 * `off` ──connected──▶ `enabling` ──tracking confirmed──▶ `on`, and back to `off` on any loss of
 * tracking; `closed` with the store. Only `on` serves or fills entries; leaving `on` empties the cache.
 *
 * - `off`: tracking is not confirmed, so every read goes to Redis. The status before the store's
 *   connections are up, after a connection closes, a failed heartbeat check, a Sentinel failover or a
 *   Cluster node change until tracking is confirmed again, and for good on a server without
 *   `CLIENT TRACKING` (the store asks it again, less and less often).
 * - `enabling`: the connections are up and the store is turning tracking on and checking that it took
 *   effect (a few commands, normally a millisecond); reads still go to Redis.
 * - `on`: tracking is confirmed on every connection the store reads from: reads are served from the
 *   cache and fill it. A heartbeat that has not answered for 2.5 s makes reads go to Redis even so.
 * - `closed`: the store was closed; final.
 *
 * @example
 * if (store.cacheStats()?.status !== 'on') log.warn('session cache not serving: every read goes to Redis')
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
  /** Reads that went to Redis (not cached yet, changed, expired, or the cache was not `on`). */
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
  /** Served at least once: the tracked read that filled it paid off. */
  used: boolean
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
 *
 * It also remembers which keys a plain (untracked) read found holding a session since they last changed
 * here, or were served from it before they changed (`mark`, `present`): only those are worth a tracked
 * read, and only a tracked read fills (`read-through.ts`), so Redis tracks no key that holds no session.
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
  /**
   * Keys an untracked read found holding a session, in two generations as the entries: `true` once an
   * entry of the key was served, so its next change need not be followed by two reads before a refill.
   */
  #seen = new Map<string, boolean>()
  #seenBefore = new Map<string, boolean>()
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
    entry.used = true
    return entry.fields
  }

  /**
   * Notes what an untracked read of `key` found: a session (`true`) or not. A key noted present is
   * worth a tracked read that fills the cache; nothing else is, since Redis would keep tracking it.
   */
  mark(key: string, present: boolean): void {
    if (!present) {
      if (!this.#seen.delete(key)) this.#seenBefore.delete(key)
      return
    }
    if (!this.#seen.has(key)) this.#note(key, this.#seenBefore.get(key) ?? false)
  }

  #note(key: string, used: boolean): void {
    if (!this.#seen.has(key) && this.#seen.size >= this.#limit) {
      this.#seenBefore = this.#keepOld ? this.#seen : new Map()
      this.#seen = new Map()
    }
    this.#seenBefore.delete(key)
    this.#seen.set(key, used)
  }

  /**
   * True when an untracked read found a session at `key` and nothing here has changed it since, or an
   * entry of it was served before its last change: a read of it is worth following with a tracked read.
   */
  present(key: string): boolean {
    return this.#seen.has(key) || this.#seenBefore.has(key)
  }

  /** True when the cache holds an entry of `key`, fresh or not; nothing is counted. */
  holds(key: string): boolean {
    return this.#young.has(key) || this.#old.has(key)
  }

  /** True when a read that fills `key` is worth sending: the cache is `on`, has no entry and no such read in flight. */
  wants(key: string): boolean {
    return this.#status === 'on' && !this.#reading.has(key) && !this.holds(key)
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
    this.#put(key, { fields: Object.freeze(fields), expiresAt: ticket.sentAt + pttl, used: false })
  }

  /** `key` changed (in Redis, or by this store): forget it, and keep any read of it in flight from filling. */
  drop(key: string): void {
    this.#invalidations++
    const entry = this.#young.get(key) ?? this.#old.get(key)
    if (!this.#young.delete(key)) this.#old.delete(key)
    // A session served from the cache is refilled on its next read; one that changed before it was
    // cached or served (a session written on every request) waits for two reads with no change between.
    if (entry?.used) this.#note(key, true)
    else if (entry !== undefined || !(this.#seen.get(key) ?? this.#seenBefore.get(key))) this.mark(key, false)
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
    this.#seen.clear()
    this.#seenBefore.clear()
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
