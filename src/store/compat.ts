/** koa-session's whole-session `get`/`set` on top of our field-wise contract, shared by both stores. */
import { timestamp } from './lifetime.js'
import { isMeta, type SessionStore, type StoredFields } from './types.js'

/** koa-session's `store.get`: the whole session as one object, or null. */
export async function getWhole(
  store: SessionStore,
  key: string,
  ttl: number,
): Promise<Record<string, unknown> | null> {
  const fields = await store.load(key, { now: Date.now(), ttl, absoluteTimeout: 0 })
  // No creation time: not a session written by a store of ours, which the middleware reports as corrupt too.
  if (fields === null || fields === 'expired' || timestamp(fields._c) === undefined) return null
  const sess: Record<string, unknown> = {}
  for (const f in fields) {
    if (isMeta(f)) continue
    let value: unknown
    try {
      value = JSON.parse(fields[f] as string)
    } catch {
      // Corrupt data is a miss, as for the middleware; the SyntaxError would quote the stored value.
      return null
    }
    // Defined, not assigned: a stored `__proto__` field must not become the object's prototype.
    Object.defineProperty(sess, f, { value, enumerable: true, writable: true, configurable: true })
  }
  return sess
}

/** koa-session's `store.set`: replaces the whole session (koa-session does not say which keys changed). */
export async function setWhole(
  store: SessionStore,
  key: string,
  sess: Record<string, unknown>,
  ttl: number,
): Promise<void> {
  const set: StoredFields = {}
  for (const f in sess) if (!isMeta(f) && sess[f] !== undefined) set[f] = JSON.stringify(sess[f])
  const o = { now: Date.now(), ttl, absoluteTimeout: 0, set, del: [] }
  if (!(await store.write(key, { ...o, mode: 'replace' }))) await store.write(key, { ...o, mode: 'create' })
}
