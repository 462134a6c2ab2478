/** The session of one request: its lifecycle from the incoming id to the commit, as one status field. */
import type { Context } from 'koa'
import { debug } from './debug.js'
import { invalidOption, SessionError } from './errors.js'
import { guestId, hashId, isWellFormedId, tagOf, userTag, withTag } from './id.js'
import type { Resolved } from './options.js'
import { Session, type SessionOwner } from './session.js'
import { encode, Snapshot } from './snapshot.js'
import { duration, durationOption, timestamp } from './store/lifetime.js'
import { META, type RequestStore, type StoredFields } from './store/types.js'
import type { Transport } from './transport/types.js'

const DONE = Promise.resolve()

/**
 * Where the session of this request stands. Changed only through `#become`:
 *
 * ```
 * unread ──load──▶ stored ──commit: write refused──▶ gone
 *    │               │  ▲
 *    │               │  └─commit: create── new ◀── regenerate, login (new id), no/unknown id
 *    │               └──ctx.session = null──▶ destroyed ──ctx.session = {…}──▶ new
 *    └──store failed, failOpen──▶ unavailable
 * ```
 */
type Status =
  /** The incoming id has not been loaded yet (`lazy`, or before the middleware's load). */
  | 'unread'
  /** Nothing stored under `#id`: a guest, an unknown id, a regenerated or re-keyed session. */
  | 'new'
  /** The store holds this session under `#id`; `#snapshot` is what it holds. */
  | 'stored'
  /** `ctx.session = null`: the client is told to forget its id at commit. */
  | 'destroyed'
  /** A write was refused: another request destroyed, regenerated or expired it. Nothing more is written. */
  | 'gone'
  /** The store failed and `failOpen` serves an empty session that is never saved. */
  | 'unavailable'

/** The state behind `ctx.session` for one request. */
export class RequestSession implements SessionOwner {
  #status: Status = 'unread'
  /** The well-formed, correctly signed id the request carried, if any. */
  #incoming: string | undefined
  #idRead = false
  /** The transport the id came in on: answers go back on it alone. */
  #via: Transport | undefined
  /** The incoming id was signed with an older key: the saved session sends it again, newly signed. */
  #resign = false
  /** The id of this session: stored under it (`stored`), or to be created under it (`new`, drawn lazily). */
  #id: string | undefined
  /** `ctx.session`: undefined until first wanted, null once destroyed. */
  #session: Session | null | undefined
  /** What the store last held: the base of change detection. */
  readonly #snapshot = new Snapshot()
  /** `ctx.session.maxAge` as set in this request, not yet saved. */
  #maxAge: number | 'session' | undefined
  /** The id a login in this request moves the session to, when `ctx.sessionId` asked for it before the commit. */
  #next: string | undefined
  /** A stored session this request replaced (`ctx.session = null`): deleted at commit. */
  #remove: { id: string; user: string | undefined } | undefined
  /** The commits and regenerations of this request, in call order. */
  #chain: Promise<void> | undefined

  readonly #ctx: Context
  readonly #o: Resolved
  readonly #store: RequestStore

  constructor(ctx: Context, o: Resolved) {
    this.#ctx = ctx
    this.#o = o
    this.#store = o.store(ctx)
  }

  get storeUnavailable(): boolean {
    return this.#status === 'unavailable'
  }

  /** Created by this request: no id, an unknown one, or a new id (regenerate, login) rather than the one loaded. */
  get isNew(): boolean {
    const loaded = this.#status === 'stored' || this.#status === 'gone'
    return !(loaded && this.#id === this.#incoming)
  }

  /** Reads the id from the transports; malformed or forged ids are dropped before any store call. */
  readId(): void {
    if (this.#idRead) return
    this.#idRead = true
    const o = this.#o
    for (const transport of o.transports) {
      const value = transport.read(this.#ctx)
      if (value === undefined) continue
      if (value !== null && isWellFormedId(value.id, o.prefix, o.genid !== undefined)) {
        this.#incoming = value.id
        this.#via = transport
        this.#resign = value.stale
        return
      }
      this.#emit('session:invalid', { reason: value === null ? 'bad signature' : 'malformed id' })
    }
  }

  /** Loads the incoming session: one store call. */
  async load(): Promise<void> {
    if (this.#status !== 'unread') return
    this.readId()
    const id = this.#incoming
    if (id === undefined) return this.#become('new')
    const o = this.#o
    let fields: Awaited<ReturnType<RequestStore['load']>>
    try {
      fields = await this.#store.load(id, { now: Date.now(), ttl: o.ttl, absoluteTimeout: o.absoluteTimeout })
    } catch (err) {
      this.#failOpen(err)
      this.#session = new Session(this)
      return this.#become('unavailable')
    }
    if (fields === 'expired') return this.#miss('session:expired', {})
    if (fields === null) return this.#miss('session:missed', {})
    const data = this.#snapshot.open(fields, o.codec, id)
    if (data === undefined) return this.#miss('session:invalid', { reason: 'corrupt data' })
    if (o.valid && !o.valid(this.#ctx, data))
      return this.#miss('session:invalid', { reason: 'valid() refused' })
    this.#id = id
    this.#session = new Session(this, data)
    this.#become('stored')
  }

  /** `ctx.session`. */
  get(): Session | null {
    if (this.#session !== undefined) return this.#session
    // With `lazy`, even reading the id waits until the session is wanted.
    this.readId()
    if (this.#status === 'unread') {
      if (this.#incoming !== undefined) {
        throw new SessionError(
          'NOT_LOADED',
          'with `lazy: true`, call `await ctx.loadSession()` before reading ctx.session',
        )
      }
      this.#become('new')
    }
    this.#session = new Session(this)
    return this.#session
  }

  /** `ctx.session = value`: null destroys; an object replaces the data. */
  set(value: unknown): void {
    if (value === null) {
      if (this.#status === 'stored') this.#remove = { id: this.#id as string, user: this.#snapshot.meta._u }
      this.#session = null
      // A session created after this in the same request is a new one: its lifetime starts now.
      this.#snapshot.meta = {}
      this.#id = undefined
      this.#become('destroyed')
      return
    }
    if (typeof value !== 'object' || value === undefined) {
      throw new TypeError('koa-session-redis3: ctx.session can only be set to null or an object')
    }
    if (this.#status === 'destroyed') this.#become('new')
    const session = this.get() ?? new Session(this)
    clear(session)
    Object.assign(session, value)
    this.#session = session
  }

  /** `ctx.sessionId`: the id this response will carry (drawn now for a new session). */
  get id(): string | undefined {
    const session = this.get()
    if (session === null || this.#status === 'unavailable' || this.#status === 'gone') return undefined
    // A login in this request: the response will carry a new id, drawn now and used at commit.
    if (this.#status === 'stored' && this.#changesHands(session.toJSON())) {
      this.#next ??= this.#draw(session.toJSON())
      return this.#next
    }
    this.#id ??= this.#draw(session.toJSON())
    return this.#id
  }

  get maxAge(): number | 'session' {
    return this.#maxAge ?? parseMaxAge(this.#snapshot.meta[META.maxAge]) ?? this.#o.maxAge
  }

  set maxAge(value: number | 'session') {
    this.#maxAge =
      value === 'session' ? value : durationOption('ctx.session.maxAge', value, 'ms', ", or 'session'")
  }

  /** Saves what changed; one commit at a time, in call order. */
  commit(force: boolean): Promise<void> {
    // Most requests never touch the session: nothing to save, and no promises to chain for it.
    if (this.#session === undefined && this.#chain === undefined) return DONE
    const run = (this.#chain ?? DONE).then(() => this.#commit(force))
    this.#chain = run.catch(() => undefined)
    return run
  }

  /** A new id; the old one is deleted from the store at once, so no later request can use it. */
  regenerate(): Promise<void> {
    const run = (this.#chain ?? DONE).then(async () => {
      await this.#removeReplaced()
      const session = this.get() ?? new Session(this)
      if (this.#status === 'stored') await this.#leaveStoredId(session)
      if (!this.#o.regenerateKeepsData) clear(session)
      this.#session = session
      this.#detach()
    })
    this.#chain = run.catch(() => undefined)
    return run
  }

  async #commit(force: boolean): Promise<void> {
    // Deleting is a security operation: it fails closed whatever `failOpen` says.
    await this.#removeReplaced()
    const session = this.#session
    if (!session) {
      // Destroyed (null) or never touched (undefined).
      if (this.#status === 'destroyed') for (const t of this.#o.transports) t.clear(this.#ctx)
      return
    }
    switch (this.#status) {
      case 'stored':
        if (this.#changesHands(session.toJSON())) {
          // A login: the session moves to a new id in the user's slot, and the old id dies first.
          const next = this.#next
          await this.#leaveStoredId(session)
          this.#detach()
          this.#id = next
          return this.#saving(() => this.#create(session, force))
        }
        return this.#saving(() => this.#update(session, force))
      case 'new':
        return this.#saving(() => this.#create(session, force))
      default:
        // gone, unavailable: nothing may be written.
        return
    }
  }

  async #create(session: Session, force: boolean): Promise<void> {
    const o = this.#o
    const now = Date.now()
    const carried = timestamp(this.#snapshot.meta[META.createdAt])
    if (carried !== undefined && o.absoluteTimeout > 0 && carried + o.absoluteTimeout <= now) {
      // Regenerated after its absolute lifetime ended: nothing of it may live on.
      clear(session)
      this.#snapshot.meta = {}
    }
    let data = session.toJSON()
    if (!force && !o.saveUninitialized && Object.keys(data).length === 0) {
      // A guest: hand out an id, store nothing until there is something to keep.
      this.#send(this.id as string)
      return
    }
    if (o.beforeSave) {
      o.beforeSave(this.#ctx, session)
      data = session.toJSON()
    }
    const changes = this.#snapshot.diff(data)
    const meta = this.#newMeta(data, now)
    const user = meta[META.user]
    // An id drawn before the owner was known (ctx.sessionId) may end with another tag; it was never stored.
    if (this.#id !== undefined && user !== undefined && tagOf(this.#id) !== userTag(user))
      this.#id = undefined
    for (let attempt = 0; ; attempt++) {
      const id = this.#id ?? this.#draw(data)
      const set = { ...encode(changes, o.codec, id), ...meta }
      const written = await this.#store.write(id, {
        mode: 'create',
        set,
        del: [],
        now,
        ttl: this.#ttl(),
        absoluteTimeout: o.absoluteTimeout,
        maxSessionsPerUser: o.maxSessionsPerUser,
      })
      if (written) {
        this.#id = id
        this.#snapshot.meta = meta
        this.#snapshot.remember(changes, set)
        this.#maxAge = undefined
        this.#become('stored')
        this.#send(id)
        return
      }
      // The id exists already: a custom `genid` repeating itself, or a 2^-240 event. Draw once more.
      this.#id = undefined
      if (attempt === 1) {
        throw new SessionError('STORE_UNAVAILABLE', 'could not create a session: the new id exists already')
      }
    }
  }

  async #update(session: Session, force: boolean): Promise<void> {
    const o = this.#o
    const now = Date.now()
    const renew = o.renew && this.#renewDue(now)
    const maxAgeChanged = this.#maxAge !== undefined
    let changes = this.#snapshot.diff(session.toJSON())
    const changed = changes.size > 0 || changes.deleted.length > 0
    if (changed || force || renew || maxAgeChanged) {
      if (o.beforeSave) {
        o.beforeSave(this.#ctx, session)
        changes = this.#snapshot.diff(session.toJSON())
      }
      const id = this.#id as string
      const set = encode(changes, o.codec, id)
      if (maxAgeChanged) set[META.maxAge] = String(this.#maxAge)
      const meta = this.#snapshot.meta
      // The owner logged out but kept the session: it leaves the user's index.
      if (meta[META.user] !== undefined && this.#user(session.toJSON()) === undefined)
        changes.deleted.push(META.user)
      if (renew || (o.renew && maxAgeChanged)) set[META.cookieExpires] = String(now + this.#cookieLife())
      const written = await this.#store.write(id, {
        mode: 'update',
        set,
        del: changes.deleted,
        now,
        ttl: this.#ttl(),
        absoluteTimeout: o.absoluteTimeout,
        createdAt: timestamp(meta[META.createdAt]) as number,
        user: meta[META.user],
      })
      if (!written) {
        // Destroyed, regenerated or expired meanwhile: it stays dead, and the client keeps whatever
        // newer id another response gave it.
        debug('write refused: the session no longer exists')
        return this.#become('gone')
      }
      this.#snapshot.remember(changes, set)
      this.#maxAge = undefined
    }
    if (o.rolling || renew || maxAgeChanged || this.#resign) this.#send(this.#id as string)
    this.#resign = false
  }

  /** The metadata of a session about to be created: its owner, and what it carries over. */
  #newMeta(data: Record<string, unknown>, now: number): StoredFields {
    const o = this.#o
    const meta: StoredFields = {}
    const user = this.#user(data)
    if (user !== undefined) {
      meta[META.user] = user
      const agent = this.#ctx.get('user-agent')
      if (agent) meta[META.userAgent] = agent.slice(0, 256)
    }
    // Carried over by regenerate(): the absolute lifetime counts from the first creation.
    meta[META.createdAt] = this.#snapshot.meta[META.createdAt] ?? String(now)
    const maxAge = this.#maxAge ?? this.#snapshot.meta[META.maxAge]
    if (maxAge !== undefined) meta[META.maxAge] = String(maxAge)
    if (o.renew) meta[META.cookieExpires] = String(now + this.#cookieLife())
    return meta
  }

  /** Deletes the stored session this request left; if another request deleted it first, keeps only our changes. */
  async #leaveStoredId(session: Session): Promise<void> {
    const removed = await this.#store.remove(this.#id as string, { user: this.#snapshot.meta[META.user] })
    if (removed) return
    const changes = this.#snapshot.diff(session.toJSON())
    for (const key of Object.keys(session)) if (!changes.has(key)) delete session[key]
  }

  /** From here the session is a new one, to be created under a new id. */
  #detach(): void {
    this.#id = undefined
    this.#next = undefined
    this.#snapshot.json.clear()
    this.#become('new')
  }

  async #removeReplaced(): Promise<void> {
    const remove = this.#remove
    if (remove === undefined) return
    this.#remove = undefined
    await this.#store.remove(remove.id, { user: remove.user })
  }

  /** Runs a save; with `failOpen`, a store failure leaves this response unsaved instead of a 503. */
  async #saving(save: () => Promise<void>): Promise<void> {
    try {
      await save()
    } catch (err) {
      this.#failOpen(err)
      this.#become('unavailable')
    }
  }

  #become(status: Status): void {
    this.#status = status
  }

  #miss(event: string, detail: object): void {
    this.#emit(event, detail)
    this.#become('new')
  }

  #changesHands(data: Record<string, unknown>): boolean {
    const user = this.#user(data)
    return user !== undefined && user !== this.#snapshot.meta[META.user]
  }

  /** Hash of the owner's user id, or undefined; sessions of one user share its slot tag. */
  #user(data: Record<string, unknown>): string | undefined {
    if (!this.#o.userId) return undefined
    const user = this.#o.userId(data)
    return user === undefined || user === null || user === '' ? undefined : hashId(String(user))
  }

  /** A new id: a guest's, or one ending with the owner's tag so it shares the slot of the owner's index. */
  #draw(data: Record<string, unknown>): string {
    const { genid, prefix } = this.#o
    const user = this.#user(data)
    const drawn = prefix + (genid ? genid(this.#ctx) : guestId())
    const id = user === undefined ? drawn : withTag(drawn, userTag(user))
    if (!isWellFormedId(id, prefix, genid !== undefined)) {
      throw invalidOption('genid', 'must return 16 to 256 characters of A-Z a-z 0-9 _ . : ~ -', drawn)
    }
    return id
  }

  /** The server-side idle timeout: the session's own maxAge when it has one, else the configured one. */
  #ttl(): number {
    const own = this.#maxAge ?? parseMaxAge(this.#snapshot.meta[META.maxAge])
    return typeof own === 'number' ? own : this.#o.ttl
  }

  #cookieLife(): number {
    const maxAge = this.maxAge
    return maxAge === 'session' ? this.#o.ttl : maxAge
  }

  #renewDue(now: number): boolean {
    const expires = Number(this.#snapshot.meta[META.cookieExpires])
    return !Number.isFinite(expires) || expires - now < this.#cookieLife() / 2
  }

  #send(id: string): void {
    for (const t of this.#via ? [this.#via] : this.#o.transports) t.write(this.#ctx, id, this.maxAge)
  }

  /** Rethrows, unless `failOpen` is on and the store failed: then the caller serves an unsaved session. */
  #failOpen(err: unknown): void {
    const failure = SessionError.is(err) && (err.code === 'STORE_UNAVAILABLE' || err.code === 'STORE_TIMEOUT')
    if (!this.#o.failOpen || !failure) throw err
    debug('store failed, this response goes unsaved (failOpen): %s', (err as Error).message)
    this.#emit('session:error', { error: err })
  }

  #emit(event: string, detail: object): void {
    debug('%s %o', event, detail)
    this.#ctx.app.emit(event, { ctx: this.#ctx, ...detail })
  }
}

function parseMaxAge(value: string | undefined): number | 'session' | undefined {
  if (value === undefined) return undefined
  return value === 'session' ? 'session' : duration(Number(value))
}

function clear(session: Session): void {
  for (const key of Object.keys(session)) delete session[key]
}
