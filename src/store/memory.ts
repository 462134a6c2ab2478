/** MemoryStore: the RedisStore semantics in process memory, for tests and development. */
import { hashId } from '../id.js'
import { getWhole, setWhole } from './compat.js'
import {
  isMeta,
  type LoadOptions,
  type LoadResult,
  type MaxAge,
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
 * An in-process store with the same guarantees as RedisStore (expiry, conditional writes, user
 * index). Data is lost on restart and not shared between processes: use it for tests and development.
 *
 * @example
 * app.use(session({ store: new MemoryStore() }))
 */
export class MemoryStore implements SessionStore {
  readonly #sessions = new Map<string, Entry>()
  readonly #users = new Map<string, Set<string>>()
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
    let ttl = f._m !== undefined && Number.isFinite(Number(f._m)) ? Number(f._m) : o.ttl
    if (o.absoluteTimeout > 0 && f._c !== undefined) {
      const left = Number(f._c) + o.absoluteTimeout - o.now
      if (left <= 0) {
        this.#drop(key)
        return 'expired'
      }
      ttl = Math.min(ttl, left)
    }
    entry.expiresAt = o.now + ttl
    if (f._u !== undefined) {
      if (f._s === undefined || o.now - Number(f._s) >= 60_000) f._s = String(o.now)
    }
    return { ...f }
  }

  async write(id: string, o: WriteOptions): Promise<boolean> {
    const key = hashId(id)
    const entry = this.#live(key, o.now)
    if ((o.mode === 'create') === (entry !== undefined)) return false
    const fields: StoredFields = entry ? entry.fields : {}
    const created = Number(o.set._c ?? fields._c ?? o.now)
    let ttl = o.ttl
    if (o.absoluteTimeout > 0) {
      const left = created + o.absoluteTimeout - o.now
      if (left <= 0) {
        this.#drop(key)
        return false
      }
      ttl = Math.min(ttl, left)
    }
    const oldUser = fields._u
    if (o.mode === 'replace') for (const f in fields) if (!isMeta(f) && !(f in o.set)) delete fields[f]
    Object.assign(fields, o.set)
    fields._c = String(created)
    for (const f of o.del) delete fields[f]
    this.#sessions.set(key, { fields, expiresAt: o.now + ttl })
    if (oldUser !== undefined && oldUser !== fields._u) this.#users.get(oldUser)?.delete(key)
    if (fields._u !== undefined) {
      fields._s = String(o.now)
      const set = this.#users.get(fields._u) ?? new Set<string>()
      set.add(key)
      this.#users.set(fields._u, set)
    }
    return true
  }

  async remove(id: string): Promise<boolean> {
    const key = hashId(id)
    const existed = this.#live(key, Date.now()) !== undefined
    this.#drop(key)
    return existed
  }

  async listSessions(userId: string): Promise<SessionInfo[]> {
    const now = Date.now()
    const list: SessionInfo[] = []
    for (const key of this.#users.get(hashId(userId)) ?? []) {
      const f = this.#live(key, now)?.fields
      if (!f) continue
      list.push({
        handle: key,
        createdAt: Number(f._c),
        lastSeenAt: Number(f._s ?? f._c),
        userAgent: f._a,
      })
    }
    return list
  }

  async destroySession(handle: string): Promise<void> {
    this.#drop(handle)
  }

  async destroyUserSessions(userId: string, options: { except?: string } = {}): Promise<number> {
    const keep = options.except === undefined ? undefined : hashId(options.except)
    let n = 0
    for (const key of [...(this.#users.get(hashId(userId)) ?? [])]) {
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
    const set = this.#users.get(user)
    set?.delete(key)
    if (set?.size === 0) this.#users.delete(user)
  }

  #sweep(now: number): void {
    for (const key of [...this.#sessions.keys()]) this.#live(key, now)
  }
}

function ttlOf(maxAge: MaxAge | undefined): number {
  return typeof maxAge === 'number' ? maxAge : DEFAULT_TTL
}
