/** How many old sessions are left to move: the number to watch before removing the `migrate` option. */
import type { RedisClient } from '../store/client.js'
import { oldState } from './old-key.js'
import { type MigrateOptions, resolveMigrate } from './options.js'

/**
 * Counts the old sessions still to move: keys under the old prefix, named by an old id, that hold a
 * value rather than the marker a move leaves (SCAN on every master, then one `GETRANGE` + `PTTL` per
 * key). Once it reads 0, or the longest old lifetime has passed, the `migrate` option can go.
 *
 * @example
 * const left = await countOldSessions({ from: 'koa-redis', client: redis })
 */
export async function countOldSessions(options: MigrateOptions & { client: RedisClient }): Promise<number> {
  const m = resolveMigrate(options, 'koa.sess', undefined)
  const keys = await m.old.scan(`${m.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`)
  let left = 0
  // 100 in flight: one round trip per 100 keys, without queueing every read of a large keyspace at once.
  for (let i = 0; i < keys.length; i += 100) {
    const batch = keys.slice(i, i + 100).filter((key) => m.isOldId(key.slice(m.prefix.length)))
    const found = await Promise.all(batch.map((key) => oldState(m, key)))
    left += found.filter((state) => state === 'to move').length
  }
  return left
}
