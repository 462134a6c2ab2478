/** Types of the CommonJS entry: `require('koa-session-redis3')` is the factory, with the exports on it. */
import type Koa = require('koa')
import index = require('./index.js')
// SessionData is aliased from its own module (index.js re-exports it type-only, which an alias
// cannot follow), so that `declare module 'koa-session-redis3' { interface SessionData { ... } }`
// in a CommonJS file merges into the one interface that types `ctx.session`.
import sessionModule = require('./session.js')

/**
 * Creates the session middleware (the ES module's default export). Accepts `session(opts)`,
 * `session(opts, app)` and `session(app, opts)`.
 *
 * @example
 * const session = require('koa-session-redis3')
 * app.use(session({ store: { host: '127.0.0.1', port: 6379, ttl: 3600, keySchema: 'your:schema' } }))
 */
declare function session(options?: index.SessionOptions, app?: Koa): index.SessionMiddleware
declare function session(app: Koa, options?: index.SessionOptions): index.SessionMiddleware

/** The package's exports, as properties of the factory (values) and members of its namespace (types). */
declare namespace session {
  export import session = index.session
  export import RedisStore = index.RedisStore
  export import MemoryStore = index.MemoryStore
  export import SessionError = index.SessionError
  export import countOldSessions = index.countOldSessions
  export import SessionData = sessionModule.SessionData
  export type SessionErrorCode = index.SessionErrorCode
  export type SessionObject = index.SessionObject
  export type SessionMiddleware = index.SessionMiddleware
  export type DataOf<Data = SessionData> = index.DataOf<Data>
  export type CookieOptions = index.CookieOptions
  export type ExternalKey = index.ExternalKey
  export type MigrateFrom = index.MigrateFrom
  export type MigrateOptions = index.MigrateOptions
  export type SessionOptions<Data = SessionData> = index.SessionOptions<Data>
  export type Session = index.Session
  export type CacheStats = index.CacheStats
  export type CacheStatus = index.CacheStatus
  export type RedisClient = index.RedisClient
  export type MemoryStoreOptions = index.MemoryStoreOptions
  export type RedisStoreOptions = index.RedisStoreOptions
  export type KoaSessionStore = index.KoaSessionStore
  export type LoadOptions = index.LoadOptions
  export type LoadResult = index.LoadResult
  export type MaxAge = index.MaxAge
  export type SessionInfo = index.SessionInfo
  export type SessionStore = index.SessionStore
  export type StoredFields = index.StoredFields
  export type WriteOptions = index.WriteOptions
}

export = session
