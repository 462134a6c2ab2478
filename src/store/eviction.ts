/** The one warning a store gives about its Redis: a memory policy that may delete its keys. */
import { debug } from '../debug.js'
import { type Connection, fieldsOf } from './client.js'

/**
 * Asks Redis once for its memory limit and policy, and draws a process warning (code
 * `KOA_SESSION_REDIS3_EVICTION`) when Redis may evict keys: a `maxmemory` is set and the policy is not
 * `noeviction`. Every key of ours has a TTL, so the `volatile-*` policies take them as well. A session
 * that goes is a logout, but the index of a user's sessions is written at login and read rarely, so an
 * LRU policy takes it first; then `destroyUserSessions` and `listSessions` no longer see the sessions that
 * live on, and "log out everywhere" misses them. A server that refuses CONFIG (managed services often
 * do) or cannot be reached is not asked again, and nothing is reported but a debug line.
 */
export async function checkEviction(connection: Connection, address: string): Promise<void> {
  let reply: unknown
  try {
    reply = await connection.call('CONFIG', 'GET', 'maxmemory*')
  } catch (err) {
    debug('could not read the maxmemory policy of Redis at %s: %s', address, (err as Error).message)
    return
  }
  // Name, value pairs: the shape of a hash's reply.
  const config = fieldsOf(reply)
  const policy = config['maxmemory-policy']
  if (policy === undefined || policy === 'noeviction' || config.maxmemory === '0') return
  process.emitWarning(
    `koa-session-redis3: Redis at ${address} runs with maxmemory-policy ${policy}: when it is full it deletes keys, and the index of a user's sessions can go while the sessions live on, so destroyUserSessions() and listSessions() miss them. Set maxmemory-policy noeviction (docs/security.md, "Redis configuration").`,
    { code: 'KOA_SESSION_REDIS3_EVICTION' },
  )
}
