/** koa-session's `externalKey`: the app reads and writes the id wherever it likes. */
import type { ExternalKey } from '../options.js'
import type { Transport } from './types.js'

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
