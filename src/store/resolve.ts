/** Which store the `store` and `ContextStore` options name, and how a request reaches it. */
import type { Context } from 'koa'
import { invalidOption } from '../errors.js'
import type { SessionOptions } from '../options.js'
import { type ForeignSettings, foreignStore } from './foreign.js'
import { durationOption } from './lifetime.js'
import { RedisStore } from './redis.js'
import { isSessionStore, type KoaSessionStore, type RequestStore } from './types.js'

/** The store a request talks to, and what the middleware must know of it. */
export interface StoreChoice {
  openStore: (settings: ForeignSettings) => (ctx: Context) => RequestStore
  storeTtl: number | undefined
  /** A koa-session store: whole-session JSON, no conditional writes. */
  foreign: boolean
}

/**
 * Resolves the `store` and `ContextStore` options: our stores as they are, koa-session stores behind
 * an adapter, RedisStore options into a RedisStore created (by `openStore`) once all else is valid.
 */
export function resolveStore(o: SessionOptions): StoreChoice {
  const s = o.store
  const { ContextStore } = o
  if (ContextStore) {
    const openStore = (f: ForeignSettings) => (ctx: Context) => foreignStore(new ContextStore(ctx), ctx, f)
    return { openStore, storeTtl: undefined, foreign: true }
  }
  if (isSessionStore(s))
    return { openStore: () => () => s, storeTtl: (s as { ttl?: number }).ttl, foreign: false }
  if (isKoaSessionStore(s)) {
    return { openStore: (f) => (ctx) => foreignStore(s, ctx, f), storeTtl: undefined, foreign: true }
  }
  if (s !== undefined && (typeof s !== 'object' || s === null)) {
    throw invalidOption(
      'store',
      'must be RedisStore options, a RedisStore, a MemoryStore or a koa-session store',
      s,
    )
  }
  const options = s ?? {}
  const ttl = options.ttl === undefined ? undefined : durationOption('store.ttl', options.ttl, 's')
  const openStore = () => {
    const store = new RedisStore(options)
    return () => store
  }
  return { openStore, storeTtl: ttl, foreign: false }
}

function isKoaSessionStore(s: unknown): s is KoaSessionStore {
  const k = s as Partial<KoaSessionStore> | undefined
  return typeof k?.get === 'function' && typeof k.set === 'function' && typeof k.destroy === 'function'
}
