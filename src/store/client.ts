/** One small interface in front of ioredis, iovalkey and node-redis (clients and clusters). */
import { reason, SessionError, scrubbed } from '../errors.js'
import type { Batch } from './batch.js'
import type { Script } from './scripts.js'
import type { StoredFields } from './types.js'

/**
 * Any of the Redis clients RedisStore accepts: an ioredis or iovalkey `Redis` or `Cluster`
 * (Sentinel included), or a node-redis v4+ client or cluster. Only the methods used are typed.
 */
export type RedisClient = IoredisLike | NodeRedisLike

/** The part of the ioredis / iovalkey API we use. */
export interface IoredisLike {
  /**
   * Any command, its arguments as one array (a spread of a large session's fields would overflow the
   * call stack); a Cluster routes it by its keys.
   */
  call(command: string, args: (string | number)[]): Promise<unknown>
  scan(
    cursor: string,
    match: 'MATCH',
    pattern: string,
    count: 'COUNT',
    n: number,
  ): Promise<[string, string[]]>
  quit(): Promise<unknown>
  disconnect?: () => void
  ping(): Promise<unknown>
  /** `'ready'` once connected (for a Cluster: once it has read the slot map). */
  status?: string
  /** Present on a Cluster: the master nodes, each a client of its own. */
  nodes?: (role?: 'master' | 'slave' | 'all') => IoredisLike[]
}

/** The part of the node-redis v4+ API we use. */
export interface NodeRedisLike {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
  eval(source: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>
  close?: () => Promise<unknown>
  quit?: () => Promise<unknown>
  /**
   * node-redis v5 types the cursor as a string and v4 as a number, and both send it as they get it; so
   * any signature is accepted here, and it is called with a string (see {@link NodeRedisScan}).
   */
  scan?: (...args: never) => Promise<unknown>
  /**
   * Any command. A client takes the arguments alone; a cluster takes the first key and a read-only
   * flag before them (node-redis v4 to v6 alike), hence the loose signature.
   */
  sendCommand(...args: never): Promise<unknown>
  /** Present on a node-redis cluster. */
  masters?: unknown[]
  // Method syntax on purpose: node-redis types `node` as its own ShardNode, which only a bivariant
  // parameter accepts; we only ever pass back an element of `masters`.
  nodeClient?(node: unknown): NodeRedisLike | Promise<NodeRedisLike>
}

/** How `scan` is called on node-redis (v4 and v5 alike). */
type NodeRedisScan = (cursor: string, options: { MATCH: string; COUNT: number }) => Promise<unknown>

/** How `sendCommand` is called on a node-redis client and on a node-redis cluster. */
type ClientSend = (args: string[]) => Promise<unknown>
type ClusterSend = (firstKey: string, isReadonly: boolean, args: string[]) => Promise<unknown>

/** What RedisStore needs from a client, with the differences between clients hidden. */
export interface Connection {
  /** EVALSHA, falling back to EVAL once when the server does not know the script yet. */
  run(script: Script, keys: string[], args: (string | number)[]): Promise<unknown>
  /** One native command whose first argument is its key (a Cluster routes it by that key). */
  call(command: string, key: string, ...args: (string | number)[]): Promise<unknown>
  /** HGETALL as an object, whatever shape the client and protocol give it (flat array, Map, object). */
  hgetall(key: string): Promise<StoredFields>
  /** SCAN every master for keys matching the pattern (Cluster-wide for bulk operations). */
  scan(pattern: string): Promise<string[]>
  /** A command without a key on the one server, or on every master of a Cluster: each reply, or that master's error. */
  everyMaster(command: string, ...args: string[]): Promise<unknown[]>
  /** PING: resolves once the server (a Cluster: its slot map) answers. */
  ping(): Promise<void>
  /** Deletes keys one by one, so no call spans slots. */
  unlink(keys: string[]): Promise<void>
  quit(): Promise<void>
}

/** Where a connection goes, for error messages that a user can act on. */
export interface Endpoint {
  /** The address, without credentials: `127.0.0.1:6379`, `redis://host:6380/0`, `Cluster of …`. */
  readonly address: string
  /** The last connection error the client reported (`connect ECONNREFUSED …`), on clients the store created. */
  lastError: string | undefined
  /** True while the client says it is not connected (set by {@link connect} where the client tells). */
  down?: () => boolean
}

/**
 * Wraps a client; `timeout` bounds every call (ms), whatever the client's own retry policy. With a
 * `batch` (src/store/batch.ts), each command of an ioredis client joins the turn's batch.
 */
export function connect(client: RedisClient, timeout: number, endpoint: Endpoint, batch?: Batch): Connection {
  const limit: Limit = { ms: timeout, endpoint, batch }
  const node = isNodeRedis(client)
  // ioredis and iovalkey say `ready` once connected; node-redis says `isReady`.
  endpoint.down = node
    ? () => (client as { isReady?: boolean }).isReady === false
    : () => typeof client.status === 'string' && client.status !== 'ready'
  // node-redis takes strings only; ioredis turns numbers into strings as it writes the command.
  type Call = (s: Script, keys: string[], args: (string | number)[]) => Promise<unknown>
  const evalsha: Call = node
    ? (s, keys, args) => client.evalSha(s.sha, { keys, arguments: args.map(String) })
    : (s, keys, args) => {
        batch?.add()
        return client.call('EVALSHA', [s.sha, keys.length, ...keys, ...args])
      }
  const evalSource: Call = node
    ? (s, keys, args) => client.eval(s.source, { keys, arguments: args.map(String) })
    : (s, keys, args) => {
        batch?.add()
        return client.call('EVAL', [s.source, keys.length, ...keys, ...args])
      }
  const send = (command: string, key: string, args: (string | number)[]): Promise<unknown> => {
    if (!node) {
      batch?.add()
      return client.call(command, [key, ...args])
    }
    const all = [command, key, ...args.map(String)]
    return client.masters
      ? (client.sendCommand as unknown as ClusterSend)(key, false, all)
      : (client.sendCommand as unknown as ClientSend)(all)
  }
  const call = (command: string, key: string, ...args: (string | number)[]): Promise<unknown> =>
    bounded(send(command, key, args), DOING[command] ?? 'talking to Redis', limit)

  return {
    run(script, keys, args) {
      return bounded(
        evalsha(script, keys, args).catch((err: unknown) => {
          if (err instanceof Error && err.message.startsWith('NOSCRIPT'))
            return evalSource(script, keys, args)
          throw err
        }),
        script.doing,
        limit,
      )
    },
    call,
    async hgetall(key) {
      return fieldsOf(await call('HGETALL', key))
    },
    async scan(pattern) {
      const found: string[] = []
      // One push per key, not a spread: above about 120,000 keys a spread overflows the call stack.
      for (const one of await masters(client, limit))
        for (const key of await scanOne(one, pattern, limit)) found.push(key)
      return found
    },
    async everyMaster(command, ...args) {
      const each = await masters(client, limit)
      return Promise.all(
        each.map((one) => {
          // The one server goes through `send`, so the command joins the turn's batch.
          const reply =
            one === client
              ? send(command, args[0] as string, args.slice(1))
              : isNodeRedis(one)
                ? (one.sendCommand as unknown as ClientSend)([command, ...args])
                : one.call(command, args)
          return bounded(reply, 'talking to Redis', limit).catch((err: unknown) => err)
        }),
      )
    },
    async ping() {
      const pong = node
        ? client.masters
          ? (client.sendCommand as unknown as ClusterSend)(undefined as unknown as string, true, ['PING'])
          : (client.sendCommand as unknown as ClientSend)(['PING'])
        : client.ping()
      await bounded(pong, 'connecting', limit)
    },
    async unlink(keys) {
      for (const key of keys) await call('UNLINK', key)
    },
    async quit() {
      if (node) {
        await (client.close ?? client.quit)?.call(client)
        return
      }
      // QUIT needs a server to answer; when none does within `timeout` (shutting down during an outage,
      // or over a connection the network froze), end the connection anyway rather than hang the shutdown.
      await bounded(client.quit(), 'closing the connection', limit).catch(() => client.disconnect?.())
    },
  }
}

/** RESP2 gives a hash as a flat array; RESP3 as a map, which clients turn into a Map or an object. */
export function fieldsOf(reply: unknown): StoredFields {
  // No prototype: a field named `__proto__` stays a field.
  const fields: StoredFields = Object.create(null)
  if (Array.isArray(reply)) {
    for (let i = 0; i < reply.length; i += 2) fields[String(reply[i])] = String(reply[i + 1])
  } else if (reply instanceof Map) {
    for (const [field, value] of reply) fields[String(field)] = String(value)
  } else if (typeof reply === 'object' && reply !== null) {
    for (const [field, value] of Object.entries(reply)) fields[field] = String(value)
  }
  return fields
}

function isNodeRedis(client: RedisClient): client is NodeRedisLike {
  return typeof (client as NodeRedisLike).evalSha === 'function'
}

async function masters(client: RedisClient, limit: Limit): Promise<RedisClient[]> {
  if (isNodeRedis(client)) {
    if (!client.masters || !client.nodeClient) return [client]
    const cluster = client as Required<Pick<NodeRedisLike, 'masters' | 'nodeClient'>>
    return Promise.all(cluster.masters.map((m) => cluster.nodeClient(m)))
  }
  if (typeof client.nodes !== 'function') return [client]
  // An ioredis Cluster knows its masters only once it has read the slot map: before that `nodes` is
  // empty (or holds the startup nodes, replicas included), and a count would silently read 0. A
  // command waits for the slot map, and connects a `lazyConnect` client too.
  if (client.status !== 'ready') await bounded(client.ping(), 'connecting to the Cluster', limit)
  return client.nodes('master')
}

async function scanOne(client: RedisClient, pattern: string, limit: Limit): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  do {
    if (isNodeRedis(client)) {
      const reply = (await bounded(
        (client.scan as NodeRedisScan)(cursor, { MATCH: pattern, COUNT: 1000 }),
        'scanning the sessions',
        limit,
      )) as { cursor: string | number; keys: string[] }
      cursor = String(reply.cursor)
      for (const key of reply.keys) found.push(key)
    } else {
      const [next, keys] = await bounded(
        client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000),
        'scanning the sessions',
        limit,
      )
      cursor = next
      for (const key of keys) found.push(key)
    }
  } while (cursor !== '0')
  return found
}

/** How long a call may take, and where it goes (for the error messages). */
export interface Limit {
  readonly ms: number
  readonly endpoint: Endpoint
  /** The batch the calls join: their time starts when it leaves. */
  readonly batch?: Batch | undefined
}

/** What the session is doing when a command is sent, for error messages. */
const DOING: Record<string, string> = {
  HGETALL: 'loading the session',
  PTTL: 'loading the session',
  HDEL: 'loading the session',
  HGET: 'ending the session',
  DEL: 'ending the session',
  UNLINK: 'clearing the sessions',
  ZRANGEBYSCORE: "listing the user's sessions",
  HMGET: "listing the user's sessions",
  ZRANGE: "ending the user's sessions",
}

/**
 * Rejects after `limit.ms`, and wraps any client error; clients retry and queue on their own for
 * seconds, and a request must not wait for that. One condition, one code: `STORE_UNAVAILABLE` while
 * the client reports the connection down (refused, closed, reconnecting), whether the command failed
 * or only did not come back in time; `STORE_TIMEOUT` when Redis is connected but did not answer. The
 * message says what the session was doing (`doing`), the address and the cause; the error's `cause`
 * keeps the client error's name and scrubbed text only.
 */
export function bounded<T>(promise: Promise<T>, doing: string, limit: Limit): Promise<T> {
  const { ms, endpoint } = limit
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined
    let settled = false
    // Timers run before I/O callbacks: after a stall of the process, a reply may be waiting
    // unread. One setImmediate lets it win, so a healthy Redis is not reported as slow.
    const expire = () =>
      setImmediate(() => {
        if (endpoint.lastError !== undefined || endpoint.down?.()) {
          const cause = endpoint.lastError === undefined ? 'not connected' : endpoint.lastError
          const message = `Redis at ${endpoint.address} cannot be reached (${cause}) while ${doing}`
          reject(new SessionError('STORE_UNAVAILABLE', message))
          return
        }
        const message = `Redis at ${endpoint.address} did not answer within ${ms} ms while ${doing}`
        reject(new SessionError('STORE_TIMEOUT', message))
      })
    // A batched call counts from when its batch leaves: a turn that stalled the process past `ms`
    // (a long synchronous task, a GC pause) held the command back, and Redis has not seen it yet.
    const start = () => {
      if (!settled) timer = setTimeout(expire, ms)
    }
    if (limit.batch === undefined) start()
    else limit.batch.sent(start)
    promise.then(
      (value) => {
        settled = true
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        settled = true
        clearTimeout(timer)
        const message = `Redis at ${endpoint.address} failed while ${doing}: ${reason(err)}${lastError(endpoint)}`
        reject(new SessionError('STORE_UNAVAILABLE', message, { cause: scrubbed(err) }))
      },
    )
  })
}

function lastError(endpoint: Endpoint): string {
  return endpoint.lastError === undefined ? '' : ` (last connection error: ${endpoint.lastError})`
}
