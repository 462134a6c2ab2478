/** The demo's store: Redis when one answers, else the in-memory store (sessions lost on restart). */
import { Redis } from 'ioredis'
import { MemoryStore, RedisStore, type SessionStore } from '../../src/index.js'

export const DEFAULT_REDIS = 'redis://127.0.0.1:6379'

/** A RedisStore when Redis answers a PING at `url` within half a second, otherwise a MemoryStore. */
export async function openStore(url: string, log: (line: string) => void): Promise<SessionStore> {
  if (await pingRedis(url)) {
    log(`Sessions in Redis at ${redact(url)}`)
    return new RedisStore({ url, keySchema: 'koa-session-redis3:demo:' })
  }
  log(`No Redis at ${redact(url)}: using the in-memory store; sessions are lost on restart`)
  return new MemoryStore()
}

async function pingRedis(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  })
  client.on('error', () => {})
  const timeout = new Promise<boolean>((resolve) => setTimeout(resolve, 1000, false).unref())
  try {
    const ping = client.connect().then(async () => (await client.ping()) === 'PONG')
    return await Promise.race([ping, timeout])
  } catch {
    return false
  } finally {
    client.disconnect()
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
