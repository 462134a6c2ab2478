/** koa-session's `externalKey`: the app reads and writes the id wherever it likes. */
import type { Context } from 'koa'
import type { Transport } from './types.js'

/** Reads and writes the session id somewhere other than the cookie (koa-session's `externalKey`). */
export interface ExternalKey {
  get(ctx: Context): string | undefined
  set(ctx: Context, value: string): void
}

/** Delegates to the app's `externalKey.get` / `externalKey.set`. */
export function externalTransport(external: ExternalKey): Transport {
  return {
    read(ctx) {
      const id = external.get(ctx)
      return id ? { id, stale: false } : undefined
    },
    write: (ctx, id) => external.set(ctx, id),
    clear: (ctx) => external.set(ctx, ''),
  }
}
