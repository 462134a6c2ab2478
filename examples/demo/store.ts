/** The demo's store: Redis when one answers, else the in-memory store (sessions lost on restart). */
import { MemoryStore, RedisStore, type SessionStore } from 'koa-session-redis3'

export const DEFAULT_REDIS = 'redis://127.0.0.1:6379'

/** A RedisStore when Redis answers at `url` (`store.ready()`), otherwise a MemoryStore. */
export async function openStore(url: string, log: (line: string) => void): Promise<SessionStore> {
  const redis = new RedisStore({ url, keySchema: 'koa-session-redis3:demo:', timeout: 1000 })
  try {
    await redis.ready()
    log(`Sessions in Redis at ${redact(url)}`)
    return redis
  } catch (err) {
    await redis.close()
    // The error names the address and the cause (ECONNREFUSED, auth, ...), never the password.
    log(`No Redis at ${redact(url)}: using the in-memory store; sessions are lost on restart`)
    log(`  (${(err as Error).message})`)
    return new MemoryStore()
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '(invalid REDIS_URL)'
  }
}
