/** Adapts any koa-session store (and `ContextStore`) to what a request needs: whole-session get/set/destroy. */
import type { Context } from 'koa'
import { SessionError, scrubbed } from '../errors.js'
import { isMeta, type KoaSessionStore, type MaxAge, type RequestStore, type StoredFields } from './types.js'

/** What the koa-session contract passes to a store besides the session. */
export interface ForeignSettings {
  maxAge: MaxAge
  rolling: boolean
}

/**
 * koa-session stores hold the whole session as one object with koa-session's `_expire` and
 * `_maxAge`, so data written here stays readable by koa-session. They cannot make writes
 * conditional: the merge and no-resurrection guarantees need RedisStore or MemoryStore.
 */
export function foreignStore(store: KoaSessionStore, ctx: Context, o: ForeignSettings): RequestStore {
  let current: StoredFields = {}
  const options = { rolling: o.rolling, ctx }
  return {
    async load(id) {
      const sess = (await failure('get', store.get(id, o.maxAge, options))) as Record<string, unknown> | null
      if (sess === null || sess === undefined || typeof sess !== 'object') return null
      const now = Date.now()
      if (typeof sess._expire === 'number' && sess._expire < now) return 'expired'
      current = {}
      for (const key in sess) if (!key.startsWith('_')) current[key] = JSON.stringify(sess[key])
      // koa-session keeps no creation time (so `absoluteTimeout` is refused with these stores); its
      // `_expire` is the cookie expiry that `renew` needs.
      const meta: StoredFields = { _c: String(now) }
      if (typeof sess._expire === 'number') meta._e = String(sess._expire)
      return { ...current, ...meta }
    },
    async write(id, w) {
      if (w.mode === 'create') current = {}
      for (const key in w.set) if (!isMeta(key)) current[key] = w.set[key] as string
      for (const key of w.del) delete current[key]
      const sess: Record<string, unknown> = {}
      for (const key in current) sess[key] = JSON.parse(current[key] as string)
      if (typeof o.maxAge === 'number') {
        sess._expire = w.now + o.maxAge
        sess._maxAge = o.maxAge
      }
      await failure('set', store.set(id, sess, o.maxAge, { ...options, changed: true }))
      return true
    },
    async remove(id) {
      // koa-session stores do not say whether the key existed.
      await failure('destroy', store.destroy(id, { ctx }))
      return true
    },
  }
}

/** A failing store is a 503 like a failing Redis, whatever the store throws. */
async function failure(what: string, result: unknown): Promise<unknown> {
  try {
    return await result
  } catch (err) {
    throw new SessionError('STORE_UNAVAILABLE', `the store failed on ${what}: ${(err as Error)?.message}`, {
      cause: scrubbed(err),
    })
  }
}
