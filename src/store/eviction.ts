/** The one warning a store gives about its Redis: a memory policy that may delete its keys. */
import { debug } from '../debug.js'
import { type Connection, fieldsOf } from './client.js'

/**
 * Asks Redis once for its memory limit and policy, and draws a process warning (code
 * `KOA_SESSION_REDIS3_EVICTION`) when Redis may evict keys: a `maxmemory` is set and the policy is not
 * `noeviction`. Every key of ours has a TTL, so the `volatile-*` policies take them as well. A session
 * that goes is a logout, but the index of a user's sessions is written at login and read rarely, so an
 * LRU policy takes it first; then `destroyUserSessions` and `listSessions` no longer see the sessions that
 * live on, and "log out everywhere" misses them. A Cluster's masters are each asked: a user's index and
 * sessions share a slot, so one evicting master is enough. A server that refuses CONFIG (managed
 * services often do) or cannot be reached is not asked again, and nothing is reported but a debug line.
 */
export async function checkEviction(connection: Connection, address: string): Promise<void> {
  let replies: unknown[]
  try {
    replies = await connection.everyMaster('CONFIG', 'GET', 'maxmemory*')
  } catch (err) {
    replies = [err]
  }
  let policy: string | undefined
  for (const reply of replies) {
    if (reply instanceof Error) {
      debug('could not read the maxmemory policy of Redis at %s: %s', address, reply.message)
      continue
    }
    // Name, value pairs: the shape of a hash's reply.
    const config = fieldsOf(reply)
    const one = config['maxmemory-policy']
    if (one !== undefined && one !== 'noeviction' && config.maxmemory !== '0') policy ??= one
  }
  if (policy === undefined) return
  process.emitWarning(
    `koa-session-redis3: Redis at ${address} runs with maxmemory-policy ${policy}: when it is full it deletes keys, and the index of a user's sessions can go while the sessions live on, so destroyUserSessions() and listSessions() miss them. Set maxmemory-policy noeviction (docs/security.md, "Redis configuration").`,
    { code: 'KOA_SESSION_REDIS3_EVICTION' },
  )
}
