/** Drops a connection of the store's own client that owes replies and hears nothing: a frozen one. */
import type { Socket } from 'node:net'
import type { Cluster, Redis } from 'ioredis'
import { debug } from '../debug.js'
import { isCluster } from './redis-options.js'

/** What the watchdog knows of one connection's current socket. */
interface Watch {
  readonly stream: Socket
  /** Data came in since the last check. */
  heard: boolean
  /** How long, in checks' worth of ms, commands have waited with nothing heard. */
  quiet: number
}

/**
 * Watches every connection of `client` (for a Cluster, each node's) and destroys the socket of one that
 * has had commands waiting for `ms` with no data coming in: a proxy, NAT or firewall that froze it, or a
 * half-open TCP connection, which would otherwise fail every request until a restart. ioredis then
 * connects anew. Returns the function that stops it.
 *
 * Not ioredis's `socketTimeout`: its timer runs before the event loop reads sockets, so after the
 * process stalled that long (a long synchronous task, a GC pause) it dropped a healthy connection whose
 * replies were waiting unread, and ioredis sent the unanswered commands again: a new session was
 * written twice (found by a review). Here a stall counts as one check, and the drop waits one
 * `setImmediate`, after that turn's reads.
 */
export function watchdog(client: Redis | Cluster, ms: number): () => void {
  const every = Math.max(50, Math.floor(ms / 4))
  const watches = new WeakMap<Redis, Watch>()
  const check = (connection: Redis): void => {
    const stream = connection.stream as Socket | undefined
    if (stream === undefined) return
    let watch = watches.get(connection)
    if (watch?.stream !== stream) {
      const fresh: Watch = { stream, heard: false, quiet: 0 }
      stream.on('data', () => {
        fresh.heard = true
      })
      watches.set(connection, fresh)
      watch = fresh
    }
    // `connect`: the socket is up and the handshake (AUTH, SELECT, the ready check) waits for replies,
    // which ioredis's connectTimeout no longer bounds once TCP has connected.
    const live = connection.status === 'ready' || connection.status === 'connect'
    const waiting = live && connection.commandQueue.length > 0
    if (!waiting || watch.heard) {
      watch.heard = false
      watch.quiet = 0
      return
    }
    watch.quiet += every
    if (watch.quiet < ms) return
    const frozen = watch
    setImmediate(() => {
      if (frozen.heard || connection.stream !== stream) return
      debug('no reply for %d ms with commands waiting: reconnecting', ms)
      stream.destroy(new Error(`no reply from Redis in ${ms} ms with commands waiting`))
    })
  }
  const timer = setInterval(() => {
    for (const connection of isCluster(client) ? client.nodes('all') : [client]) check(connection)
  }, every).unref()
  return () => clearInterval(timer)
}
