/** koa-session-redis3: server-side sessions for Koa, stored in Redis. */
import { session } from './middleware.js'

export type { SessionErrorCode } from './errors.js'
export { SessionError } from './errors.js'
export type { SessionMiddleware, SessionObject } from './middleware.js'
export { session } from './middleware.js'
export { countOldSessions } from './migrate/count.js'
export type { MigrateFrom, MigrateOptions } from './migrate/options.js'
export type { CookieOptions, DataOf, ExternalKey, SessionOptions } from './options.js'
export type { Session, SessionData } from './session.js'
export type { CacheStats, CacheStatus } from './store/cache.js'
export type { RedisClient } from './store/client.js'
export type { MemoryStoreOptions } from './store/memory.js'
export { MemoryStore } from './store/memory.js'
export { RedisStore } from './store/redis.js'
export type { RedisStoreOptions } from './store/redis-options.js'
export type {
  KoaSessionStore,
  LoadOptions,
  LoadResult,
  MaxAge,
  SessionInfo,
  SessionStore,
  StoredFields,
  WriteOptions,
} from './store/types.js'

export default session
