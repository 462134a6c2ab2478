// Minimal typings for the two peers that ship none; only what the benchmark servers call.

declare module 'koa-redis' {
  interface KoaRedisOptions {
    host?: string
    port?: number
    [option: string]: unknown
  }
  interface KoaRedisStore {
    get(sid: string): Promise<unknown>
    set(sid: string, sess: unknown, ttl?: number): Promise<void>
    destroy(sid: string): Promise<void>
    quit(): Promise<void>
    readonly client: { quit(): Promise<unknown> }
  }
  function redisStore(options?: KoaRedisOptions): KoaRedisStore
  export default redisStore
}

declare module 'koa-generic-session' {
  import type { Middleware } from 'koa'

  interface GenericSessionOptions {
    key?: string
    store?: unknown
    defer?: boolean
    rolling?: boolean
    cookie?: { maxAge?: number; httpOnly?: boolean; sameSite?: string; path?: string; signed?: boolean }
    [option: string]: unknown
  }
  function session(options?: GenericSessionOptions): Middleware
  export default session
}
