/** MemoryStore: the RedisStore semantics in process memory, for tests and development. */

import { overBytes, overKeys } from '../errors.js'
import { hashId, requiredUserHash, TAG_LENGTH, tagOf } from '../id.js'
import { getWhole, setWhole } from './compat.js'
import { badMaxAge, duration, durationOption, idleTimeout, timestamp, touchDue, ttlAt } from './lifetime.js'
import {
  DEFAULT_MAX_SESSIONS_PER_USER,
  isMeta,
  type LoadOptions,
  type LoadResult,
  type MaxAge,
  META,
  type Reseal,
  type SessionInfo,
  type SessionStore,
  type StoredFields,
  type WriteOptions,
} from './types.js'

interface Entry {
  fields: StoredFields
  expiresAt: number
}

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** How often expired entries are swept, ms. The timer never keeps the process alive. @default 60000 */
  sweepInterval?: number
}

const DEFAULT_TTL = 86_400_000

/**
 * An in-process store with the same guarantees as RedisStore (expiry, touches, conditional writes,
 * user index and its cap). Data is lost on restart and not shared between processes: use it for
 * tests and development.
 *
 * @example
 * app.use(session({ store: new MemoryStore() }))
 */
export class MemoryStore implements SessionStore {
  readonly #sessions = new Map<string, Entry>()
  /** User hash -> (session hash -> expiry), like RedisStore's sorted sets. */
  readonly #users = new Map<string, Map<string, number>>()
  readonly #timer: NodeJS.Timeout

  constructor(options: MemoryStoreOptions = {}) {
    this.#timer = setInterval(() => this.#sweep(Date.now()), options.sweepInterval ?? 60_000)
    this.#timer.unref()
  }

  async load(id: string, o: LoadOptions): Promise<LoadResult> {
    const key = hashId(id)
    const entry = this.#live(key, o.now)
    if (!entry) return null
    const f = entry.fields
    const createdAt = timestamp(f._c)
    if (createdAt === undefined) return { ...f }
    if (badMaxAge(f)) delete f._m
    const ttl = idleTimeout(f, o.ttl)
    const left = ttlAt(o.now, ttl, createdAt, o.absoluteTimeout)
    if (left === 0) {
      this.#drop(key)
      return 'expired'
    }
    if (touchDue(o.now, timestamp(f._t) ?? createdAt, ttl, createdAt, o.absoluteTimeout)) {
      f._t = String(o.now)
      this.#slide(key, entry, o.now, left)
    }
    return { ...f }
  }

  async write(id: string, o: WriteOptions): Promise<boolean> {
    const key = hashId(id)
    const entry = this.#live(key, o.now)
    const createdAt = o.createdAt ?? timestamp(o.set._c) ?? o.now
    const ttl = ttlAt(o.now, durationOption('ttl', o.ttl, 'ms'), createdAt, o.absoluteTimeout)
    if (ttl === 0) {
      if (o.mode !== 'create') this.#drop(key)
      return false
    }
    if (o.mode === 'create' ? entry !== undefined : entry?.fields._c === undefined) return false
    const fields: StoredFields = entry ? entry.fields : { _c: String(o.now) }
    if (o.maxKeys !== undefined && o.mode === 'update') {
      const after = dataKeysAfter(fields, o)
      if (after > o.maxKeys && after > dataKeysAfter(fields, { set: {}, del: [] })) throw overKeys(o.maxKeys)
    }
    if (o.maxBytes !== undefined && o.mode === 'update' && overBytesAfter(fields, o, o.maxBytes)) {
      throw overBytes(o.maxBytes)
    }
    if (o.mode === 'replace') for (const f in fields) if (!isMeta(f) && !(f in o.set)) delete fields[f]
    Object.assign(fields, o.set)
    for (const f of o.del) delete fields[f]
    // As in Redis: a new session was touched at its creation; later writes say when they touched it.
    if (o.mode !== 'create') fields._t = String(o.now)
    const next = { fields, expiresAt: 0 }
    this.#sessions.set(key, next)
    const user = o.mode === 'create' ? fields._u : o.user
    if (user !== undefined && o.del.includes(META.user)) this.#users.get(user)?.delete(key)
    this.#slide(key, next, o.now, ttl)
    if (o.mode === 'create' && user !== undefined) {
      this.#cap(user, key, o.maxSessionsPerUser ?? DEFAULT_MAX_SESSIONS_PER_USER)
    }
    return true
  }

  async remove(id: string): Promise<boolean> {
    const key = hashId(id)
    const existed = this.#live(key, Date.now()) !== undefined
    this.#drop(key)
    return existed
  }

  /** The same handle as RedisStore's: the id's tag, then the hash of the id. */
  handle(id: string): string {
    return tagOf(id) + hashId(id)
  }

  async reseal(id: string, fields: Reseal[]): Promise<void> {
    const entry = this.#live(hashId(id), Date.now())
    for (const { field, from, to } of fields) if (entry?.fields[field] === from) entry.fields[field] = to
  }

  async listSessions(userId: string | number): Promise<SessionInfo[]> {
    const now = Date.now()
    const list: SessionInfo[] = []
    for (const key of this.#users.get(requiredUserHash(userId, 'listSessions'))?.keys() ?? []) {
      const f = this.#live(key, now)?.fields
      if (!f) continue
      const handle = (f._u as string).slice(0, TAG_LENGTH) + key
      list.push({ handle, createdAt: Number(f._c), lastSeenAt: Number(f._t ?? f._c), userAgent: f._a })
    }
    return list
  }

  /** Revokes the session of a handle; with `{ userId }`, only if it belongs to that user. */
  async destroySession(handle: string, options: { userId?: string | number } = {}): Promise<boolean> {
    // `{ userId: undefined }` (a user record without the field read) must not turn into an unscoped revoke.
    const user = 'userId' in options ? requiredUserHash(options.userId, 'destroySession') : undefined
    if (typeof handle !== 'string') return false
    const key = handle.slice(TAG_LENGTH)
    const entry = this.#live(key, Date.now())
    if (!entry) return false
    if (user !== undefined && entry.fields._u !== user) return false
    this.#drop(key)
    return true
  }

  async destroyUserSessions(userId: string | number, options: { except?: string } = {}): Promise<number> {
    const keep = options.except === undefined ? undefined : hashId(options.except)
    let n = 0
    for (const key of [...(this.#users.get(requiredUserHash(userId, 'destroyUserSessions'))?.keys() ?? [])]) {
      if (key === keep) continue
      if (this.#live(key, Date.now())) n++
      this.#drop(key)
    }
    return n
  }

  async count(): Promise<number> {
    this.#sweep(Date.now())
    return this.#sessions.size
  }

  async clear(): Promise<void> {
    this.#sessions.clear()
    this.#users.clear()
  }

  async close(): Promise<void> {
    clearInterval(this.#timer)
  }

  // koa-session's contract (whole-session values), so this store plugs into koa-session too.

  async get(key: string, maxAge: MaxAge | undefined): Promise<Record<string, unknown> | null> {
    return getWhole(this, key, ttlOf(maxAge))
  }

  async set(key: string, sess: Record<string, unknown>, maxAge: MaxAge | undefined): Promise<void> {
    await setWhole(this, key, sess, ttlOf(maxAge))
  }

  async destroy(key: string): Promise<void> {
    await this.remove(key)
  }

  /** Sets the TTL at `now` (a write or a touch), and the session's expiry in its user's index. */
  #slide(key: string, entry: Entry, now: number, ttl: number): void {
    entry.expiresAt = now + ttl

    const user = entry.fields._u
    if (user === undefined) return
    const index = this.#users.get(user) ?? new Map<string, number>()
    index.set(key, entry.expiresAt)
    this.#users.set(user, index)
  }

  /** Ends the user's sessions beyond `max`, closest to expiry first, never `key` itself. */
  #cap(user: string, key: string, max: number): void {
    const index = this.#users.get(user)
    if (!index || index.size <= max) return
    const others = [...index].filter(([k]) => k !== key).sort((a, b) => a[1] - b[1])
    for (const [k] of others.slice(0, Math.min(index.size - max, 100))) this.#drop(k)
  }

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#sessions.get(key)
    if (entry && entry.expiresAt <= now) {
      this.#drop(key)
      return undefined
    }
    return entry
  }

  #drop(key: string): void {
    const user = this.#sessions.get(key)?.fields._u
    this.#sessions.delete(key)
    if (user === undefined) return
    const index = this.#users.get(user)
    index?.delete(key)
    if (index?.size === 0) this.#users.delete(user)
  }

  #sweep(now: number): void {
    for (const key of [...this.#sessions.keys()]) this.#live(key, now)
  }
}

/** How many data fields `fields` holds once the write `o` is applied (what parallel writes added counts). */
function dataKeysAfter(fields: StoredFields, o: Pick<WriteOptions, 'set' | 'del'>): number {
  const keys = new Set(Object.keys(fields))
  for (const f in o.set) keys.add(f)
  for (const f of o.del) keys.delete(f)
  let n = 0
  for (const f of keys) if (!isMeta(f)) n++
  return n
}

/** As RedisStore's script: only a write that grows the data fields it sets is measured, whole. */
function overBytesAfter(fields: StoredFields, o: WriteOptions, maxBytes: number): boolean {
  const json = (stored: string | undefined) => {
    if (stored === undefined) return 0
    return o.sealed ? Math.floor((stored.length * 3) / 4) - 28 : Buffer.byteLength(stored)
  }
  const gone = new Set(o.del)
  let grow = 0
  for (const f in o.set) {
    if (f.startsWith('_') || gone.has(f)) continue
    const was = fields[f]
    grow += json(o.set[f]) - json(was) + (was === undefined ? Buffer.byteLength(f) : 0)
  }
  if (grow <= 0) return false
  let total = 0
  for (const f in { ...fields, ...o.set }) {
    if (f.startsWith('_') || gone.has(f)) continue
    total += Buffer.byteLength(f) + json(o.set[f] ?? fields[f])
  }
  return total > maxBytes
}

function ttlOf(maxAge: MaxAge | undefined): number {
  return (typeof maxAge === 'number' ? duration(maxAge) : undefined) ?? DEFAULT_TTL
}
