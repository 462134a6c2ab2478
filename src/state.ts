/** One request's session: loading, change tracking, and the commit that saves, touches or destroys. */
import type { Context } from 'koa'
import { debug } from './debug.js'
import { invalidOption, SessionError } from './errors.js'
import { hashId, idWithTag, isWellFormedId, randomId, slotTag } from './id.js'
import type { Resolved } from './options.js'
import { Session, type SessionOwner } from './session.js'
import { encode, Snapshot } from './snapshot.js'
import { META, type RequestStore, type StoredFields } from './store/types.js'
import type { Transport } from './transport/types.js'

const DONE = Promise.resolve()

/** The state behind `ctx.session` for one request. */
export class RequestSession implements SessionOwner {
  /** The well-formed, correctly signed id the request carried, if any. */
  incoming: string | undefined
  /** True once a load was attempted (or is not needed). */
  loaded = false
  #idRead = false
  isNew = true
  storeUnavailable = false

  readonly #ctx: Context
  readonly #o: Resolved
  readonly #store: RequestStore
  #id: string | undefined
  /** undefined: not created yet; null: destroyed by `ctx.session = null`. */
  #session: Session | null | undefined
  /** The store holds `#id`. */
  #stored = false
  /** What the store last held: the base of change detection. */
  readonly #snapshot = new Snapshot()
  #maxAge: number | 'session' | undefined
  #maxAgeChanged = false
  /** An id to delete at commit (the session was replaced by `ctx.session = null`). */
  #remove: string | undefined
  /** The commits and regenerations of this request, in call order; undefined until the first. */
  #chain: Promise<void> | undefined
  /** The transport the id came in on: answers go back on it alone, so a cookie client's id is not also put in a header. */
  #via: Transport | undefined
  /** The incoming id was signed with an older key: the saved session sends it again, newly signed. */
  #resign = false
  /** A write was refused: another request destroyed the session; this one writes nothing more. */
  #dead = false
  /** The id a login in this request will move the session to (drawn early when ctx.sessionId asks). */
  #next: string | undefined

  constructor(ctx: Context, o: Resolved) {
    this.#ctx = ctx
    this.#o = o
    this.#store = o.store(ctx)
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
        this.incoming = value.id
        this.#via = transport
        this.#resign = value.stale
        return
      }
      this.#emit('session:invalid', { reason: value === null ? 'bad signature' : 'malformed id' })
    }
  }

  /** Loads the incoming session (one store call that also slides its TTL). */
  async load(): Promise<void> {
    if (this.loaded) return
    this.readId()
    this.loaded = true
    const id = this.incoming
    if (id === undefined) return
    const o = this.#o
    let fields: Awaited<ReturnType<RequestStore['load']>>
    try {
      fields = await this.#store.load(id, { now: Date.now(), ttl: o.ttl, absoluteTimeout: o.absoluteTimeout })
    } catch (err) {
      this.#failOpen(err)
      this.#session = new Session(this)
      return
    }
    if (fields === 'expired') return this.#emit('session:expired', {})
    if (fields === null) return this.#emit('session:missed', {})
    const data = this.#snapshot.open(fields, o.codec, id)
    if (data === undefined) return this.#emit('session:invalid', { reason: 'corrupt data' })
    if (o.valid && !o.valid(this.#ctx, data))
      return this.#emit('session:invalid', { reason: 'valid() refused' })
    this.#id = id
    this.#stored = true
    this.isNew = false
    this.#session = new Session(this, data)
  }

  /** `ctx.session`. */
  get(): Session | null {
    if (this.#session !== undefined) return this.#session
    // With `lazy`, even reading the id waits until the session is wanted.
    this.readId()
    if (!this.loaded && this.incoming !== undefined) {
      throw new SessionError(
        'NOT_LOADED',
        'with `lazy: true`, call `await ctx.loadSession()` before reading ctx.session',
      )
    }
    this.#session = new Session(this)
    return this.#session
  }

  /** `ctx.session = value`: null destroys; an object replaces the data. */
  set(value: unknown): void {
    if (value === null) {
      if (this.#stored) this.#remove = this.#id
      this.#session = null
      this.#detach(undefined)
      // A session created after this in the same request is a new one: its lifetime starts now.
      this.#snapshot.meta = {}
      return
    }
    if (typeof value !== 'object' || value === undefined) {
      throw new TypeError('koa-session-redis3: ctx.session can only be set to null or an object')
    }
    const session = this.get() ?? new Session(this)
    clear(session)
    Object.assign(session, value)
    this.#session = session
  }

  /** `ctx.sessionId`: the id this response will carry (drawn now for a new session). */
  get id(): string | undefined {
    const session = this.get()
    if (session === null || this.storeUnavailable || this.#dead) return undefined
    const data = session.toJSON()
    // A login in this request: the response will carry a new id, drawn now and used at commit.
    if (this.#changesHands(data)) {
      this.#next ??= this.#draw(data)
      return this.#next
    }
    this.#id ??= this.#draw(data)
    return this.#id
  }

  get maxAge(): number | 'session' {
    return this.#maxAge ?? parseMaxAge(this.#snapshot.meta[META.maxAge]) ?? this.#o.maxAge
  }

  set maxAge(value: number | 'session') {
    if (value !== 'session' && !(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
      throw invalidOption(
        'ctx.session.maxAge',
        "must be a positive number of milliseconds or 'session'",
        value,
      )
    }
    this.#maxAge = value
    this.#maxAgeChanged = true
  }

  /** Saves what changed; one commit at a time, in call order. */
  commit(force: boolean): Promise<void> {
    // Most requests never touch the session: nothing to save, and no promises to chain for it.
    if (this.#session === undefined && this.#chain === undefined) return DONE
    const run = (this.#chain ?? DONE)
      .then(() => this.#commit(force))
      .catch((err: unknown) => this.#failOpen(err))
    this.#chain = run.catch(() => undefined)
    return run
  }

  /** A new id; the old one is deleted from the store at once, so no later request can use it. */
  regenerate(): Promise<void> {
    const run = (this.#chain ?? DONE).then(async () => {
      if (this.#remove !== undefined) await this.#removeNow()
      const session = this.get() ?? new Session(this)
      if (this.#stored && !(await this.#store.remove(this.#id as string))) this.#keepOnlyChanges(session)
      if (!this.#o.regenerateKeepsData) clear(session)
      this.#session = session
      this.#detach(undefined)
    })
    this.#chain = run.catch(() => undefined)
    return run
  }

  async #commit(force: boolean): Promise<void> {
    const ctx = this.#ctx
    const o = this.#o
    if (this.#remove !== undefined) await this.#removeNow()
    const session = this.#session
    if (session === undefined || this.storeUnavailable || this.#dead) return
    if (session === null) {
      for (const t of o.transports) t.clear(ctx)
      return
    }
    let data = session.toJSON()
    const user = this.#user(data)
    if (this.#changesHands(data)) {
      // The session changes hands (a login): a new id in the user's slot, and the old one dies.
      if (!(await this.#store.remove(this.#id as string))) {
        this.#keepOnlyChanges(session)
        data = session.toJSON()
      }
      this.#detach(this.#next)
    }
    const now = Date.now()
    if (!this.#stored) {
      if (!force && !o.saveUninitialized && Object.keys(data).length === 0) {
        // A guest: hand out an id, store nothing until there is something to keep.
        if (this.isNew) this.#send(this.id as string)
        return
      }
      if (o.beforeSave) {
        o.beforeSave(ctx, session)
        data = session.toJSON()
      }
      await this.#create(data, now)
      return
    }
    const renew = o.renew && this.#renewDue(now)
    let changes = this.#snapshot.diff(data)
    if (changes.size > 0 || changes.deleted.length > 0 || force || renew || this.#maxAgeChanged) {
      if (o.beforeSave) {
        o.beforeSave(ctx, session)
        changes = this.#snapshot.diff(session.toJSON())
      }
      const set = encode(changes, this.#o.codec, this.#id as string)
      if (this.#maxAgeChanged) set[META.maxAge] = String(this.maxAge)
      if (user === undefined && this.#snapshot.meta[META.user] !== undefined) changes.deleted.push(META.user)
      if (renew || (o.renew && this.#maxAgeChanged))
        set[META.cookieExpires] = String(now + this.#cookieLife())
      const written = await this.#store.write(this.#id as string, {
        mode: 'update',
        set,
        del: changes.deleted,
        now,
        ttl: this.#ttl(),
        absoluteTimeout: o.absoluteTimeout,
      })
      if (!written) {
        // Destroyed, regenerated or expired meanwhile: it stays dead, and the client keeps whatever
        // newer id another response gave it.
        debug('write refused: the session no longer exists')
        this.#stored = false
        this.#dead = true
        return
      }
      this.#snapshot.remember(changes, set)
    }
    if (o.rolling || renew || this.#maxAgeChanged || this.#resign) this.#send(this.#id as string)
    this.#maxAgeChanged = false
    this.#resign = false
  }

  async #create(data: Record<string, unknown>, now: number): Promise<void> {
    const o = this.#o
    const changes = this.#snapshot.diff(data)
    const user = this.#user(data)
    const meta: StoredFields = {}
    if (user !== undefined) {
      meta[META.user] = user
      const agent = this.#ctx.get('user-agent')
      if (agent) meta[META.userAgent] = agent.slice(0, 256)
    }
    // Carried over by regenerate(): the absolute lifetime counts from the first creation.
    if (this.#snapshot.meta[META.createdAt] !== undefined)
      meta[META.createdAt] = this.#snapshot.meta[META.createdAt]
    if (this.#maxAge !== undefined) meta[META.maxAge] = String(this.#maxAge)
    if (o.renew) meta[META.cookieExpires] = String(now + this.#cookieLife())
    // An id drawn earlier (ctx.sessionId read before the user was known) may sit in another slot
    // than the user's index; it was never stored, so draw one in the right slot.
    if (this.#id !== undefined && user !== undefined && slotTag(hashId(this.#id)) !== slotTag(user)) {
      this.#id = undefined
    }
    let id = this.#id ?? this.#draw(data)
    const write = (id: string) => ({
      mode: 'create' as const,
      set: { ...encode(changes, this.#o.codec, id), ...meta },
      del: [],
      now,
      ttl: this.#ttl(),
      absoluteTimeout: o.absoluteTimeout,
    })
    let w = write(id)
    if (!(await this.#store.write(id, w))) {
      // The id exists already: a custom `genid` repeating itself, or a 2^-256 event. Draw again once.
      id = this.#draw(data)
      w = write(id)
      if (!(await this.#store.write(id, w))) {
        throw new SessionError('STORE_UNAVAILABLE', 'could not create a session: the new id exists already')
      }
    }
    this.#id = id
    this.#stored = true
    this.#snapshot.meta = { ...meta, [META.createdAt]: meta[META.createdAt] ?? String(now) }
    this.#snapshot.remember(changes, w.set)
    this.#maxAgeChanged = false
    this.#send(id)
  }

  /** The session leaves its stored id: from here it is a new session, under `id` (drawn later if undefined). */
  #detach(id: string | undefined): void {
    this.#stored = false
    this.#id = id
    this.#next = undefined
    this.#snapshot.json.clear()
    this.isNew = true
  }

  /** Of a session another request destroyed, keeps only what this request changed. */
  #keepOnlyChanges(session: Session): void {
    const changes = this.#snapshot.diff(session.toJSON())
    for (const key of Object.keys(session)) if (!changes.has(key)) delete session[key]
  }

  #changesHands(data: Record<string, unknown>): boolean {
    const user = this.#user(data)
    return this.#stored && user !== undefined && user !== this.#snapshot.meta[META.user]
  }

  async #removeNow(): Promise<void> {
    const id = this.#remove as string
    this.#remove = undefined
    await this.#store.remove(id)
  }

  /** Hash of the owner's user id, or undefined; sessions of one user share its slot tag. */
  #user(data: Record<string, unknown>): string | undefined {
    if (!this.#o.userId) return undefined
    const user = this.#o.userId(data)
    return user === undefined || user === null || user === '' ? undefined : hashId(String(user))
  }

  #draw(data: Record<string, unknown>): string {
    const { genid, prefix } = this.#o
    const ctx = this.#ctx
    const draw = genid ? () => prefix + genid(ctx) : () => prefix + randomId()
    const user = this.#user(data)
    const id = idWithTag(draw, user === undefined ? undefined : slotTag(user))
    if (!isWellFormedId(id, prefix, genid !== undefined)) {
      throw invalidOption('genid', 'must return 16 to 256 characters of A-Z a-z 0-9 _ . : ~ -', id)
    }
    return id
  }

  #ttl(): number {
    const maxAge = this.maxAge
    return this.#maxAge !== undefined && maxAge !== 'session' ? maxAge : this.#o.ttl
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

  /** Rethrows, unless `failOpen` is on and the store failed: then this response goes unsaved instead of a 503. */
  #failOpen(err: unknown): void {
    const failure = SessionError.is(err) && (err.code === 'STORE_UNAVAILABLE' || err.code === 'STORE_TIMEOUT')
    if (!this.#o.failOpen || !failure) throw err
    debug('store failed, this response goes unsaved (failOpen): %s', (err as Error).message)
    this.storeUnavailable = true
    this.#emit('session:error', { error: err })
  }

  #emit(event: string, detail: object): void {
    debug('%s %o', event, detail)
    this.#ctx.app.emit(event, { ctx: this.#ctx, ...detail })
  }
}

function parseMaxAge(value: string | undefined): number | 'session' | undefined {
  if (value === undefined) return undefined
  return value === 'session' ? 'session' : Number(value)
}

function clear(session: Session): void {
  for (const key of Object.keys(session)) delete session[key]
}
