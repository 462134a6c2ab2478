/** The header carrier for front ends on another origin: the id, signed with `app.keys`, in a request/response header. */
import type { Context } from 'koa'
import { signer } from './sign.js'
import type { Transport } from './types.js'

// Anything longer than an id plus a signature is not worth verifying.
const MAX_LENGTH = 512

/**
 * Reads the id from `name`, and sends new or regenerated ids back in the same header, exposed to
 * cross-origin scripts. Signed values are `id.signature`, signed like Koa's cookies (Keygrip with
 * `app.keys`) over `name=id`, so a forged id never reaches the store.
 */
export function headerTransport(name: string, signed: boolean): Transport {
  const lower = name.toLowerCase()
  const signature = signer(lower)
  const encode = (ctx: Context, id: string) => (signed ? `${id}.${signature.sign(ctx, id)}` : id)
  return {
    read(ctx) {
      const value = ctx.get(lower)
      if (value === '') return undefined
      if (value.length > MAX_LENGTH) return null
      if (!signed) return { id: value, stale: false }
      const dot = value.lastIndexOf('.')
      if (dot <= 0) return null
      const id = value.slice(0, dot)
      const at = signature.verify(ctx, id, value.slice(dot + 1))
      // Signed with an older key: the newest signature goes back when the session is saved, after the
      // app (and a @koa/cors mounted later) has set its own Access-Control-Expose-Headers.
      return at < 0 ? null : { id, stale: at > 0 }
    },
    write: (ctx, id) => send(ctx, name, encode(ctx, id)),
    clear: (ctx) => send(ctx, name, ''),
  }
}

function send(ctx: Context, name: string, value: string): void {
  ctx.set(name, value)
  const exposed = ctx.response.get('Access-Control-Expose-Headers')
  const list = String(exposed || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (!list.some((h) => h.toLowerCase() === name.toLowerCase() || h === '*')) {
    ctx.set('Access-Control-Expose-Headers', [...list, name].join(', '))
  }
}
