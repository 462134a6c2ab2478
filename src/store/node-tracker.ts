/** Tracking on one Redis server for the session cache: a data connection, our invalidation subscriber, their checks. */
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { debug } from '../debug.js'
import { bounded, type Limit } from './client.js'

/** Where Redis publishes invalidations for clients that redirect them (RESP2). */
const CHANNEL = '__redis__:invalidate'
/**
 * Delay before enabling again after a failed attempt (both connections still up), doubled after each
 * failure up to {@link RETRY_MAX_MS}: a server without CLIENT TRACKING (Redis before 6.2, some proxies)
 * leaves the cache off and is asked again only rarely.
 */
const RETRY_MS = 500
const RETRY_MAX_MS = 30_000

/** Where a tracker is: `on` once tracking is confirmed on its data connection. */
export type NodeStatus = 'connecting' | 'enabling' | 'on' | 'closed'

/** What a tracker tells the {@link Tracking} that owns it. */
export interface TrackerEvents {
  /** Its status changed. */
  changed(): void
  /** An attempt to turn tracking on failed (it will be retried). */
  failed(): void
  /** An invalidation message: an array of keys, or null for a flush. */
  invalidate(message: unknown): void
}

/** Tracking on one Redis server: the data connection `data` redirects its invalidations to a subscriber of ours. */
export class NodeTracker {
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
  readonly #events: TrackerEvents
  readonly #onData: [string, () => void][]

  constructor(data: Redis, limit: Limit, events: TrackerEvents) {
    this.data = data
    this.#limit = limit
    this.#events = events
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
      if (channel.toString() === CHANNEL) events.invalidate(message)
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

  /**
   * One heartbeat, on both connections: a PING on the subscriber, whose answer proves every invalidation
   * Redis sent before it received the PING has arrived; and CLIENT TRACKINGINFO on the data connection,
   * whose answer proves it is still the tracked connection and redirects to that subscriber. Rejects when
   * either does not answer within the store's timeout, or the check fails (which also starts over).
   */
  async beat(): Promise<void> {
    const attempt = this.#attempt
    const [, info] = await Promise.all([
      bounded(this.#sub.ping(), 'checking the cache connection (PING)', this.#limit),
      bounded(
        this.data.call('CLIENT', 'TRACKINGINFO'),
        'checking the cache tracking (CLIENT TRACKINGINFO)',
        this.#limit,
      ),
    ])
    if (attempt !== this.#attempt || this.status !== 'on') throw new Error('tracking was lost meanwhile')
    const wrong = trackingProblem(info, this.#subId)
    if (wrong === undefined) return
    debug('cache: the data connection is not tracked as enabled (%s): enabling again', wrong)
    // A new subscriber, then tracking turned on again with REDIRECT to it: whichever side went wrong.
    this.#lose()
    this.#sub.disconnect(true)
    throw new Error(`the tracking of the data connection failed its check: ${wrong}`)
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
    this.#events.changed()
  }

  /**
   * Subscribes, turns tracking on with REDIRECT to the subscriber, and checks that the redirect reaches
   * it: a reconnect (a failover) can leave the two connections on different servers, where the same
   * CLIENT ID names another client. Reads that may fill the cache are sent only after this.
   */
  async #enable(): Promise<void> {
    const attempt = ++this.#attempt
    this.status = 'enabling'
    this.#events.changed()
    const t = this.#limit
    try {
      let id = this.#subId
      if (id === undefined) {
        const connection = this.#subConnection
        // A SUBSCRIBE that timed out may have been answered since: back to normal mode for CLIENT ID.
        if (this.#sub.mode === 'subscriber')
          await bounded(this.#sub.unsubscribe(), 'turning the cache on (UNSUBSCRIBE)', t)
        id = String(await bounded(this.#sub.client('ID'), 'turning the cache on (CLIENT ID)', t))
        await bounded(this.#sub.subscribe(CHANNEL), 'turning the cache on (SUBSCRIBE)', t)
        if (connection !== this.#subConnection) throw new Error('the subscriber reconnected')
        this.#subId = id
      }
      // OPTIN: Redis remembers only the keys read right after a CLIENT CACHING YES (read-through.ts), never
      // the ids a plain read found empty: in default mode every unknown id read would stay in its tracking
      // table for good. Not BCAST: only keys this server cached are reported to it. No NOLOOP: this
      // store's own writes must invalidate too (docs/DESIGN.md).
      await bounded(
        this.data.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', id, 'OPTIN'),
        'turning the cache on (CLIENT TRACKING)',
        t,
      )
      const line = String(
        await bounded(this.data.call('CLIENT', 'LIST', 'ID', id), 'turning the cache on (CLIENT LIST)', t),
      )
      if (!line.includes(` name=${this.#name} `) || !line.includes(' sub=1 ')) {
        throw new Error('the invalidation subscriber is not on the server of the data connection')
      }
      if (attempt !== this.#attempt) return
      this.#failures = 0
      this.status = 'on'
      this.#events.changed()
    } catch (err) {
      if (attempt !== this.#attempt) return
      debug('cache: enabling tracking failed, retrying: %s', (err as Error).message)
      this.status = 'connecting'
      this.#events.changed()
      this.#events.failed()
      const delay = Math.min(RETRY_MS * 2 ** this.#failures++, RETRY_MAX_MS)
      this.#retry = setTimeout(() => this.#try(), delay).unref()
    }
  }
}

/**
 * What is wrong with a data connection's tracking, from its CLIENT TRACKINGINFO reply (a flat array in
 * RESP2 and in ioredis's legacy RESP3 mapping; a Map or an object otherwise), or undefined when it is on,
 * OPTIN, and redirects to `subId` without a lost invalidation.
 */
export function trackingProblem(reply: unknown, subId: string | undefined): string | undefined {
  const info = trackingInfo(reply)
  if (!info.flags.includes('on')) return 'tracking is off'
  if (!info.flags.includes('optin')) return 'tracking is not OPTIN'
  // Set once Redis failed to send an invalidation to the redirect target: one was lost.
  if (info.flags.includes('broken_redirect')) return 'the redirect is broken'
  if (info.redirect !== subId) return `it redirects to client ${info.redirect}, not ${subId}`
  return undefined
}

function trackingInfo(reply: unknown): { flags: string[]; redirect: string } {
  const fields = new Map<string, unknown>()
  if (Array.isArray(reply))
    for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1])
  else if (reply instanceof Map) for (const [k, v] of reply) fields.set(String(k), v)
  else if (typeof reply === 'object' && reply !== null)
    for (const [k, v] of Object.entries(reply)) fields.set(k, v)
  const flags = fields.get('flags')
  return {
    flags: Array.isArray(flags) ? flags.map(String) : flags instanceof Set ? [...flags].map(String) : [],
    redirect: String(fields.get('redirect')),
  }
}
