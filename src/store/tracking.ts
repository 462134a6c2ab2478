/** Keeps the session cache true: CLIENT TRACKING on the store's connections, invalidations on a subscriber per server. */
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { Cluster, Redis } from 'ioredis'
import { debug } from '../debug.js'
import type { CacheStatus, SessionCache } from './cache.js'
import { bounded, type Limit } from './client.js'

/** Where Redis publishes invalidations for clients that redirect them (RESP2). */
const CHANNEL = '__redis__:invalidate'
/** How often the invalidation channels are checked to be live. */
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
 * Delay before enabling again after a failed attempt (both connections still up), doubled after each
 * failure up to {@link RETRY_MAX_MS}: a server without CLIENT TRACKING (Redis before 6.2, some proxies)
 * leaves the cache off and is asked again only rarely.
 */
const RETRY_MS = 500
const RETRY_MAX_MS = 30_000

type NodeStatus = 'connecting' | 'enabling' | 'on' | 'closed'

/** Tracking on one Redis server: the data connection `data` redirects its invalidations to a subscriber of ours. */
class NodeTracker {
  status: NodeStatus = 'connecting'
  readonly data: Redis
  readonly #sub: Redis
  /** Our subscriber's CLIENT SETNAME, random: how CLIENT LIST tells it from any other client. */
  readonly #name = `koa-session-redis3:invalidate:${randomBytes(9).toString('base64url')}`
  /** CLIENT ID of the subscriber's current connection, once it is subscribed. */
  #subId: string | undefined
  /** Bumped when the subscriber's connection closes: a SUBSCRIBE answered on an older one says nothing. */
  #subConnection = 0
  /** Bumped by every loss: an enabling begun before it is void. */
  #attempt = 0
  #retry: NodeJS.Timeout | undefined
  /** Failed attempts in a row. */
  #failures = 0
  readonly #limit: Limit
  readonly #changed: () => void
  readonly #onData: [string, () => void][]

  constructor(data: Redis, limit: Limit, changed: () => void, invalidate: (message: unknown) => void) {
    this.data = data
    this.#limit = limit
    this.#changed = changed
    this.#sub = data.duplicate({
      connectionName: this.#name,
      // RESP2: ioredis 6 drops RESP3 `invalidate` push frames (DataHandler#returnPush), so invalidations
      // must come as Pub/Sub messages, which Redis sends only to a RESP2 connection.
      protocol: 2,
      replyMapping: 'legacy',
      lazyConnect: true,
      // A command runs on the connection it was sent on, or fails: the CLIENT ID we hold must be the
      // subscribed connection's.
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // Cluster nodes are created without reconnects; the subscriber reconnects until the store closes.
      retryStrategy: (times: number) => Math.min(times * 100, 2_000),
    })
    this.#sub.on('error', (err: Error) => debug('cache subscriber error: %s', err.message))
    this.#sub.on('messageBuffer', (channel: Buffer, message: unknown) => {
      if (channel.toString() === CHANNEL) invalidate(message)
    })
    this.#sub.on('close', () => {
      this.#subConnection++
      this.#subId = undefined
      this.#lose()
    })
    this.#sub.on('ready', () => this.#try())
    this.#onData = [
      ['close', () => this.#lose()],
      ['ready', () => this.#try()],
    ]
    for (const [event, listener] of this.#onData) data.on(event, listener)
    this.#try()
  }

  /** A PING on the invalidation channel: its answer proves every invalidation sent before it arrived. */
  ping(): Promise<unknown> {
    return bounded(this.#sub.ping(), 'PING (cache)', this.#limit)
  }

  /** Reconnects the subscriber (heartbeats went unanswered: the connection may be half-open). */
  restart(): void {
    if (this.status !== 'closed') this.#sub.disconnect(true)
  }

  close(): void {
    this.status = 'closed'
    // An enabling still in flight must neither turn a closed tracker on nor schedule a retry.
    this.#attempt++
    clearTimeout(this.#retry)
    for (const [event, listener] of this.#onData) this.data.off(event, listener)
    this.#sub.disconnect()
  }

  /** Enables tracking once both connections are up. */
  #try(): void {
    if (this.status !== 'connecting' || this.data.status !== 'ready') return
    if (this.#sub.status === 'wait') this.#sub.connect().catch(() => undefined)
    else if (this.#sub.status === 'ready') void this.#enable()
  }

  #lose(): void {
    if (this.status === 'closed') return
    this.#attempt++
    clearTimeout(this.#retry)
    this.status = 'connecting'
    this.#changed()
  }

  /**
   * Subscribes, turns tracking on with REDIRECT to the subscriber, and checks that the redirect reaches
   * it: a reconnect (a failover) can leave the two connections on different servers, where the same
   * CLIENT ID names another client. Reads that may fill the cache are sent only after this.
   */
  async #enable(): Promise<void> {
    const attempt = ++this.#attempt
    this.status = 'enabling'
    this.#changed()
    const t = this.#limit
    try {
      let id = this.#subId
      if (id === undefined) {
        const connection = this.#subConnection
        // A SUBSCRIBE that timed out may have been answered since: back to normal mode for CLIENT ID.
        if (this.#sub.mode === 'subscriber') await bounded(this.#sub.unsubscribe(), 'UNSUBSCRIBE', t)
        id = String(await bounded(this.#sub.client('ID'), 'CLIENT ID', t))
        await bounded(this.#sub.subscribe(CHANNEL), 'SUBSCRIBE', t)
        if (connection !== this.#subConnection) throw new Error('the subscriber reconnected')
        this.#subId = id
      }
      // OPTIN: Redis remembers only the keys read right after a CLIENT CACHING YES (read-through.ts), never
      // the ids a plain read found empty: in default mode every unknown id read would stay in its tracking
      // table for good. Not BCAST: only keys this server cached are reported to it. No NOLOOP: this
      // store's own writes must invalidate too (docs/DESIGN.md).
      await bounded(this.data.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', id, 'OPTIN'), 'CLIENT TRACKING', t)
      const line = String(await bounded(this.data.call('CLIENT', 'LIST', 'ID', id), 'CLIENT LIST', t))
      if (!line.includes(` name=${this.#name} `) || !line.includes(' sub=1 ')) {
        throw new Error('the invalidation subscriber is not on the server of the data connection')
      }
      if (attempt !== this.#attempt) return
      this.#failures = 0
      this.status = 'on'
      this.#changed()
    } catch (err) {
      if (attempt !== this.#attempt) return
      debug('cache: enabling tracking failed, retrying: %s', (err as Error).message)
      this.status = 'connecting'
      this.#changed()
      const delay = Math.min(RETRY_MS * 2 ** this.#failures++, RETRY_MAX_MS)
      this.#retry = setTimeout(() => this.#try(), delay).unref()
    }
  }
}

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
      this.#trackers.set(node, new NodeTracker(node, this.#limit, this.#sync, this.#invalidate))
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

  readonly #invalidate = (message: unknown): void => {
    // RESP2 sends the keys as an array, or a null for FLUSHALL / FLUSHDB.
    if (message === null) this.#cache.clear()
    else if (Array.isArray(message)) for (const key of message) this.#cache.drop(String(key))
  }

  async #beat(): Promise<void> {
    if (this.#cache.status !== 'on' || this.#beating) return
    this.#beating = true
    const sentAt = performance.now()
    try {
      await Promise.all([...this.#trackers.values()].map((tracker) => tracker.ping()))
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

function isCluster(client: Redis | Cluster): client is Cluster {
  return typeof (client as Cluster).nodes === 'function'
}
