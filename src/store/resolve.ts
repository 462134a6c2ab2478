/** Which store the `store` and `ContextStore` options name, and how a request reaches it. */
import type { Context } from 'koa'
import { invalidOption } from '../errors.js'
import { type ForeignSettings, foreignStore } from './foreign.js'
import { durationOption } from './lifetime.js'
import { RedisStore } from './redis.js'
import type { RedisStoreOptions } from './redis-options.js'
import { isSessionStore, type KoaSessionStore, type RequestStore, type SessionStore } from './types.js'

/** The store of a middleware: what a request talks to, and the instance behind it (none with `ContextStore`). */
export interface OpenedStore {
  store: (ctx: Context) => RequestStore
  instance: SessionStore | KoaSessionStore | undefined
}

/** The store a request talks to, and what the middleware must know of it. */
export interface StoreChoice {
  openStore: (settings: ForeignSettings) => OpenedStore
  storeTtl: number | undefined
  /** A koa-session store: whole-session JSON, no conditional writes. */
  foreign: boolean
}

/**
 * Resolves the `store` and `ContextStore` options: our stores as they are, koa-session stores behind
 * an adapter, RedisStore options into a RedisStore created (by `openStore`) once all else is valid.
 */
export function resolveStore(
  s: SessionStore | KoaSessionStore | RedisStoreOptions | undefined,
  ContextStore: (new (ctx: Context) => KoaSessionStore) | undefined,
): StoreChoice {
  if (ContextStore) {
    const store = (f: ForeignSettings) => (ctx: Context) => foreignStore(new ContextStore(ctx), ctx, f)
    return {
      openStore: (f) => ({ store: store(f), instance: undefined }),
      storeTtl: undefined,
      foreign: true,
    }
  }
  if (isSessionStore(s)) {
    const opened = { store: () => s, instance: s }
    return { openStore: () => opened, storeTtl: (s as { ttl?: number }).ttl, foreign: false }
  }
  if (isKoaSessionStore(s)) {
    const openStore = (f: ForeignSettings) => ({
      store: (ctx: Context) => foreignStore(s, ctx, f),
      instance: s,
    })
    return { openStore, storeTtl: undefined, foreign: true }
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
    const instance = new RedisStore(options)
    return { store: () => instance, instance }
  }
  return { openStore, storeTtl: ttl, foreign: false }
}

function isKoaSessionStore(s: unknown): s is KoaSessionStore {
  const k = s as Partial<KoaSessionStore> | undefined
  return typeof k?.get === 'function' && typeof k.set === 'function' && typeof k.destroy === 'function'
}
