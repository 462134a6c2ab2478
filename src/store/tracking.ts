/** Keeps the session cache true: CLIENT TRACKING on the store's connections, invalidations on a subscriber per server. */
import { performance } from 'node:perf_hooks'
import type { Cluster, Redis } from 'ioredis'
import { debug } from '../debug.js'
import type { CacheStatus, SessionCache } from './cache.js'
import type { Limit } from './client.js'
import { NodeTracker } from './node-tracker.js'
import { isCluster } from './redis-options.js'

/** How often both connections of every tracker are checked (NodeTracker#beat). */
const HEARTBEAT_MS = 1_000
/**
 * How long after a heartbeat was sent the cache may still serve without the next one answering. It bounds
 * how stale an entry can get when a connection dies without closing (a half-open TCP connection).
 */
const LEASE_MS = 2_500
/**
 * Heartbeats missed in a row before the subscribers are reconnected: by then the lease has long run out
 * (the cache reads through), so this only brings the cache back, and need not be quick.
 */
const MISSED_BEATS = 5

/**
 * Runs CLIENT TRACKING for a store's session cache, on the one data connection of a standalone or
 * Sentinel client, or on every master connection of a Cluster, and drives the cache's status: `on` only
 * while tracking is confirmed on every one of them.
 */
export class Tracking {
  readonly #cache: SessionCache
  readonly #limit: Limit
  readonly #trackers = new Map<Redis, NodeTracker>()
  /** The data connections to track now; undefined while the client cannot tell (a Cluster not ready). */
  readonly #nodes: () => Redis[] | undefined
  readonly #cluster: Cluster | undefined
  readonly #heartbeat: NodeJS.Timeout
  #beating = false
  #missed = 0
  /** Calls waiting in `settled`. */
  readonly #waiting = new Set<() => void>()

  constructor(client: Redis | Cluster, cache: SessionCache, limit: Limit) {
    this.#cache = cache
    this.#limit = limit
    if (isCluster(client)) {
      this.#cluster = client
      this.#nodes = () => (client.status === 'ready' ? client.nodes('master') : undefined)
      // Any change of nodes or slots empties the cache: simpler than knowing which keys moved, and rare.
      for (const event of CLUSTER_EVENTS) client.on(event, this.#reconcile)
    } else {
      this.#nodes = () => [client]
    }
    this.#heartbeat = setInterval(() => void this.#beat(), HEARTBEAT_MS).unref()
    this.#reconcile()
  }

  close(): void {
    clearInterval(this.#heartbeat)
    if (this.#cluster) for (const event of CLUSTER_EVENTS) this.#cluster.off(event, this.#reconcile)
    for (const tracker of this.#trackers.values()) tracker.close()
    this.#trackers.clear()
    this.#cache.become('closed')
    this.#wake()
  }

  /**
   * Resolves once the cache is `on`, or an attempt to turn tracking on has failed (it is retried), or
   * the store closed, or after the store's timeout: whichever comes first. Never rejects.
   */
  settled(): Promise<void> {
    if (this.#cache.status === 'on' || this.#cache.status === 'closed') return Promise.resolve()
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.#waiting.delete(done)
        resolve()
      }
      const timer = setTimeout(done, this.#limit.ms)
      this.#waiting.add(done)
    })
  }

  /** Takes the current set of data connections: a tracker for each, none for connections gone. */
  readonly #reconcile = (): void => {
    this.#cache.become('off')
    const nodes = this.#nodes() ?? []
    for (const [node, tracker] of this.#trackers) {
      if (!nodes.includes(node)) {
        tracker.close()
        this.#trackers.delete(node)
      }
    }
    for (const node of nodes) {
      if (this.#trackers.has(node)) continue
      this.#trackers.set(node, new NodeTracker(node, this.#limit, this.#events))
      // Cluster node connections are lazy: a command would connect them; tracking must come first. (A
      // standalone client made lazy with `options.lazyConnect` stays so until its first command.)
      if (this.#cluster && node.status === 'wait') node.connect().catch(() => undefined)
    }
    this.#sync()
  }

  /** The cache's status from its trackers': `on` only when every data connection is tracked. */
  readonly #sync = (): void => {
    const nodes = this.#nodes()
    let status: CacheStatus = nodes === undefined || nodes.length === 0 || !this.#covers(nodes) ? 'off' : 'on'
    for (const node of nodes ?? []) {
      const s = this.#trackers.get(node)?.status
      if (s === 'enabling') status = 'enabling'
      else if (s !== 'on') {
        status = 'off'
        break
      }
    }
    if (status === 'on' && this.#cache.status !== 'on') this.#cache.confirm(performance.now(), LEASE_MS)
    this.#cache.become(status)
    if (status === 'on') this.#wake()
  }

  #wake(): void {
    for (const done of [...this.#waiting]) done()
  }

  /**
   * True unless the Cluster's slot map names a master that has no connection in ioredis's pool (one lost
   * and not yet reconnected): its keys could be read on a connection that is not tracked yet. ioredis
   * emits `+node` before it sends a command on a new connection, which would empty the cache in time, but
   * the cache does not rely on that: it stays off until every master of the slot map is tracked.
   */
  #covers(nodes: Redis[]): boolean {
    if (!this.#cluster) return true
    const pooled = new Set(nodes.map((node) => `${node.options.host}:${node.options.port}`))
    for (const owners of this.#cluster.slots)
      if (owners?.[0] !== undefined && !pooled.has(owners[0])) return false
    return true
  }

  /** What every tracker reports to. */
  readonly #events = {
    changed: () => this.#sync(),
    failed: () => this.#wake(),
    invalidate: (message: unknown): void => {
      // RESP2 sends the keys as an array, or a null for FLUSHALL / FLUSHDB.
      if (message === null) this.#cache.clear()
      else if (Array.isArray(message)) for (const key of message) this.#cache.drop(String(key))
    },
  }

  async #beat(): Promise<void> {
    if (this.#cache.status !== 'on' || this.#beating) return
    this.#beating = true
    const sentAt = performance.now()
    try {
      await Promise.all([...this.#trackers.values()].map((tracker) => tracker.beat()))
      this.#cache.confirm(sentAt, LEASE_MS)
      this.#missed = 0
    } catch (err) {
      debug('cache: heartbeat failed: %s', (err as Error).message)
      if (++this.#missed >= MISSED_BEATS) {
        this.#missed = 0
        for (const tracker of this.#trackers.values()) tracker.restart()
      }
    } finally {
      this.#beating = false
    }
  }
}

const CLUSTER_EVENTS = ['+node', '-node', 'refresh', 'ready', 'close'] as const
