/** One small interface in front of ioredis, iovalkey and node-redis (clients and clusters). */
import { SessionError } from '../errors.js'
import type { Script } from './scripts.js'

/**
 * Any of the Redis clients RedisStore accepts: an ioredis or iovalkey `Redis` or `Cluster`
 * (Sentinel included), or a node-redis v4+ client or cluster. Only the methods used are typed.
 */
export type RedisClient = IoredisLike | NodeRedisLike

/** The part of the ioredis / iovalkey API we use. */
export interface IoredisLike {
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>
  eval(source: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>
  scan(
    cursor: string,
    match: 'MATCH',
    pattern: string,
    count: 'COUNT',
    n: number,
  ): Promise<[string, string[]]>
  unlink(...keys: string[]): Promise<number>
  quit(): Promise<unknown>
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
  unlink?: (key: string) => Promise<number>
  /** Present on a node-redis cluster. */
  masters?: unknown[]
  // Method syntax on purpose: node-redis types `node` as its own ShardNode, which only a bivariant
  // parameter accepts; we only ever pass back an element of `masters`.
  nodeClient?(node: unknown): NodeRedisLike | Promise<NodeRedisLike>
}

/** How `scan` is called on node-redis (v4 and v5 alike). */
type NodeRedisScan = (cursor: string, options: { MATCH: string; COUNT: number }) => Promise<unknown>

/** What RedisStore needs from a client, with the differences between clients hidden. */
export interface Connection {
  /** EVALSHA, falling back to EVAL once when the server does not know the script yet. */
  run(script: Script, keys: string[], args: (string | number)[]): Promise<unknown>
  /** SCAN every master for keys matching the pattern (Cluster-wide for bulk operations). */
  scan(pattern: string): Promise<string[]>
  /** Deletes keys one by one, so no call spans slots. */
  unlink(keys: string[]): Promise<void>
  quit(): Promise<void>
}

/** Wraps a client; `timeout` bounds every call (ms), whatever the client's own retry policy. */
export function connect(client: RedisClient, timeout: number): Connection {
  const node = isNodeRedis(client)
  // node-redis takes strings only; ioredis turns numbers into strings as it writes the command.
  type Call = (s: Script, keys: string[], args: (string | number)[]) => Promise<unknown>
  const evalsha: Call = node
    ? (s, keys, args) => client.evalSha(s.sha, { keys, arguments: args.map(String) })
    : (s, keys, args) => client.evalsha(s.sha, keys.length, ...keys, ...args)
  const evalSource: Call = node
    ? (s, keys, args) => client.eval(s.source, { keys, arguments: args.map(String) })
    : (s, keys, args) => client.eval(s.source, keys.length, ...keys, ...args)

  return {
    run(script, keys, args) {
      return bounded(
        evalsha(script, keys, args).catch((err: unknown) => {
          if (err instanceof Error && err.message.startsWith('NOSCRIPT'))
            return evalSource(script, keys, args)
          throw err
        }),
        timeout,
        script.name,
      )
    },
    async scan(pattern) {
      const found: string[] = []
      for (const one of await masters(client, timeout)) found.push(...(await scanOne(one, pattern, timeout)))
      return found
    },
    async unlink(keys) {
      for (const key of keys) {
        await bounded(
          node ? (client.unlink?.(key) ?? Promise.resolve(0)) : client.unlink(key),
          timeout,
          'unlink',
        )
      }
    },
    async quit() {
      if (node) await (client.close ?? client.quit)?.call(client)
      else await client.quit()
    },
  }
}

function isNodeRedis(client: RedisClient): client is NodeRedisLike {
  return typeof (client as NodeRedisLike).evalSha === 'function'
}

async function masters(client: RedisClient, timeout: number): Promise<RedisClient[]> {
  if (isNodeRedis(client)) {
    if (!client.masters || !client.nodeClient) return [client]
    const cluster = client as Required<Pick<NodeRedisLike, 'masters' | 'nodeClient'>>
    return Promise.all(cluster.masters.map((m) => cluster.nodeClient(m)))
  }
  if (typeof client.nodes !== 'function') return [client]
  // An ioredis Cluster knows its masters only once it has read the slot map: before that `nodes` is
  // empty (or holds the startup nodes, replicas included), and a count would silently read 0. A
  // command waits for the slot map, and connects a `lazyConnect` client too.
  if (client.status !== 'ready') await bounded(client.ping(), timeout, 'cluster connect')
  return client.nodes('master')
}

async function scanOne(client: RedisClient, pattern: string, timeout: number): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  do {
    if (isNodeRedis(client)) {
      const reply = (await bounded(
        (client.scan as NodeRedisScan)(cursor, { MATCH: pattern, COUNT: 1000 }),
        timeout,
        'scan',
      )) as { cursor: string | number; keys: string[] }
      cursor = String(reply.cursor)
      found.push(...reply.keys)
    } else {
      const [next, keys] = await bounded(
        client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000),
        timeout,
        'scan',
      )
      cursor = next
      found.push(...keys)
    }
  } while (cursor !== '0')
  return found
}

/**
 * Rejects with `STORE_TIMEOUT` after `ms`, and wraps any client error in `STORE_UNAVAILABLE`.
 * Clients retry and queue on their own for seconds; a request must not wait for that.
 */
export function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // Timers run before I/O callbacks: after a stall of the process, a reply may be waiting
    // unread. One setImmediate lets it win, so a healthy Redis is not reported as slow.
    const timer = setTimeout(
      () =>
        setImmediate(() =>
          reject(new SessionError('STORE_TIMEOUT', `Redis did not answer ${what} within ${ms} ms`)),
        ),
      ms,
    )
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        clearTimeout(timer)
        const message = `Redis failed on ${what}: ${(err as Error)?.message}`
        reject(new SessionError('STORE_UNAVAILABLE', message, { cause: err }))
      },
    )
  })
}
