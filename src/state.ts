/** The session of one request: its lifecycle from the incoming id to the commit, as one status field. */
import type { Context } from 'koa'
import { Carrier } from './carrier.js'
import { debug, emit } from './debug.js'
import { isStoreFailure, SessionError } from './errors.js'
import { newId, ownerOf } from './meta.js'
import { type Adopted, type Adopter, adopt, oldIdOf } from './migrate/adopt.js'
import type { Resolved } from './options.js'
import { createSession, leaveSession, type Saving, updateSession } from './save.js'
import { assign, clear, Session, type SessionOwner } from './session.js'
import { Snapshot } from './snapshot.js'
import { durationOption, parseMaxAge } from './store/lifetime.js'
import { META, type Owner, type RequestStore } from './store/types.js'

const DONE = Promise.resolve()

/** A stored session to delete, and its owner when known (else the store looks it up). */
type StoredId = { id: string; owner?: Owner }
/**
 * Where the session of this request stands; changed only through `#become`.
 *
 * ```
 * unread ──load──▶ stored ──write refused──▶ gone
 *   │  │             │  ▲
 *   │  │             │  └──commit: create── new ◀── no or unknown id; regenerate; a login (new id)
 *   │  │             └──ctx.session = null──▶ destroyed ──ctx.session = {…}──▶ new
 *   │  └──store failed, failOpen──▶ unavailable
 * ```
 * `new`: nothing stored under `#id` (drawn lazily); `stored`: the store holds it, as `#snapshot` says;
 * `gone`: another request destroyed, regenerated or expired it, so nothing more is written;
 * `unavailable`: the store failed and `failOpen` serves an empty session that is never saved.
 */
type Status = 'unread' | 'new' | 'stored' | 'destroyed' | 'gone' | 'unavailable'

/** The state behind `ctx.session` for one request. */
export class RequestSession implements SessionOwner {
  #status: Status = 'unread'
  readonly #carrier: Carrier
  /** The id of this session: stored under it (`stored`), or to be created under it (`new`). */
  #id: string | undefined
  /** A login's new id, when `ctx.sessionId` asked for it before the commit. */
  #next: string | undefined
  /** `ctx.session`: undefined until first wanted, null once destroyed. */
  #session: Session | null | undefined
  /** What the store last held: the base of change detection. */
  readonly #snapshot = new Snapshot()
  /** `ctx.session.maxAge` as set in this request, not yet saved. */
  #maxAge: number | 'session' | undefined
  /** A stored session that `ctx.session = null` replaced: deleted at commit. */
  #remove: StoredId | undefined
  /** An old library's id whose session `ctx.session = null` ended before it was moved (`lazy` + `migrate`). */
  #removeOld: string | undefined
  /** The commits and regenerations of this request, in call order. */
  #chain: Promise<void> | undefined
  readonly #ctx: Context
  readonly #o: Resolved
  readonly #store: RequestStore

  constructor(ctx: Context, o: Resolved) {
    this.#ctx = ctx
    this.#o = o
    this.#store = o.store(ctx)
    this.#carrier = new Carrier(ctx, o)
  }

  report(err: unknown): void {
    this.#ctx.app.emit('error', err, this.#ctx)
  }
  get storeUnavailable(): boolean {
    return this.#status === 'unavailable'
  }

  /** Created by this request: no id, an unknown one, or a new id (regenerate, login) rather than the one loaded. */
  get isNew(): boolean {
    const loaded = this.#status === 'stored' || this.#status === 'gone'
    return !(loaded && this.#id === this.#carrier.id)
  }

  readId(): void {
    this.#carrier.read((reason) => emit(this.#ctx, 'session:invalid', { reason }))
  }

  /** Loads the incoming session: one store call. */
  async load(): Promise<void> {
    if (this.#status !== 'unread') return
    this.readId()
    const id = this.#carrier.id
    const failOpen = (err: unknown) => this.#failOpen(err)
    if (id === undefined) return this.#o.migrate ? this.#migrate().catch(failOpen) : this.#fresh()
    await this.#open(id).catch(failOpen)
  }

  async #open(id: string): Promise<void> {
    const miss = await this.#tryOpen(id)
    if (miss === undefined) return
    // An id unknown to the store may be an old library's one that our format also accepts (a custom `genid`).
    if (miss[0] === 'session:missed' && this.#o.migrate) return this.#migrate()
    this.#fresh(...miss)
  }

  /** Loads the stored session `id`; resolves the event that says why there is none usable, if so. */
  async #tryOpen(id: string): Promise<[string, object] | undefined> {
    const o = this.#o
    const fields = await this.#store.load(id, {
      now: Date.now(),
      ttl: o.ttl,
      absoluteTimeout: o.absoluteTimeout,
    })
    if (fields === 'expired') return ['session:expired', {}]
    if (fields === null) return ['session:missed', {}]
    const data = this.#snapshot.open(fields, o.codec, id)
    if (data === undefined) return ['session:invalid', { reason: 'corrupt data' }]
    if (this.#snapshot.json.size > 2 * o.maxKeys || this.#snapshot.jsonChars > 2 * o.maxBytes) {
      // Our writes keep within both, parallel ones too (the store checks them); only another writer
      // makes one, and it is ended rather than read again on every request. Twice the limits: a margin
      // for sessions written before the store counted bytes, or under limits lowered since, which stay
      // usable (save.ts refuses only what grows them). Characters of JSON never outnumber its bytes.
      await this.#store.remove(id, { user: this.#snapshot.meta._u })
      this.#snapshot.meta = {}
      this.#snapshot.json.clear()
      return ['session:invalid', { reason: 'too large' }]
    }
    if (o.valid && !o.valid(this.#ctx, data)) return ['session:invalid', { reason: 'valid() refused' }]
    this.#id = id
    this.#session = new Session(this)
    this.#assign(data)
    this.#become('stored')
    return undefined
  }

  /** No id of ours: the session of an old library's cookie (`migrate`), moved here, or a new one. */
  async #migrate(): Promise<void> {
    const m = this.#o.migrate
    const oldId = m && oldIdOf(m, this.#ctx)
    if (m === undefined || oldId === undefined) return this.#fresh()
    const adopted = await this.adoptOld(oldId)
    // The old cookie is done with either way: moved, or nothing to move (a later request need not look again).
    if (m.key !== this.#o.key) this.#ctx.cookies.set(m.key, null, { signed: m.signed })
    if (adopted === undefined) return this.#fresh()
    this.#carrier.adopt(adopted.id, this.maxAge)
  }

  /**
   * Moves the old session of `oldId` into the store (src/migrate) and loads it; resolves its new id,
   * or undefined when there was nothing to move. Also the bulk command's step, one old session at a time.
   */
  adoptOld(oldId: string): Promise<Adopted | undefined> {
    const step: Adopter = {
      open: async (id) => ((await this.#tryOpen(id)) === undefined ? this.#snapshot.meta._c : undefined),
      create: (id, data, ttl) => this.#createMigrated(id, data, ttl),
      discard: async (id) => {
        await this.#store.remove(id, { user: this.#snapshot.meta._u })
        this.#session = undefined
        this.#snapshot.meta = {}
        this.#detach()
      },
    }
    return adopt(this.#o.migrate as NonNullable<Resolved['migrate']>, this.#o, this.#ctx, oldId, step)
  }

  async #createMigrated(id: string, data: Record<string, unknown>, ttl: number): Promise<string | undefined> {
    const session = new Session(this, data)
    const saving: Saving = { ...this.#saving(), migrated: { ttl } }
    if ((await createSession(saving, session, id, true)) === undefined) return undefined
    this.#id = id
    this.#session = session
    this.#become('stored')
    return this.#snapshot.meta._c
  }

  /** `ctx.session`. */
  get(): Session | null {
    if (this.#session !== undefined) return this.#session
    // With `lazy`, even reading the id waits until the session is wanted.
    this.readId()
    if (this.#status === 'unread') {
      const m = this.#o.migrate
      if (this.#carrier.id !== undefined || (m !== undefined && oldIdOf(m, this.#ctx) !== undefined)) {
        throw new SessionError(
          'NOT_LOADED',
          'with `lazy: true`, call `await ctx.loadSession()` before reading ctx.session',
        )
      }
      this.#fresh()
    }
    this.#session = new Session(this)
    return this.#session
  }

  /** `ctx.session = value`: null destroys; an object replaces the data. */
  set(value: unknown): void {
    if (value === null) {
      // With `lazy`, a logout may come before any load: the incoming id is read now, so its session ends too.
      this.readId()
      this.#remove = this.#storedId()
      const m = this.#o.migrate
      if (this.#status === 'unread' && this.#remove === undefined && m)
        this.#removeOld = oldIdOf(m, this.#ctx)
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
    this.#session = session
    this.#assign(value as Record<string, unknown>)
  }

  /** `ctx.sessionId`: the id this response will carry (drawn now for a new session). */
  get id(): string | undefined {
    const session = this.get()
    if (session === null || this.#status === 'unavailable' || this.#status === 'gone') return undefined
    const owner = ownerOf(this.#o, session.toJSON())
    // A login in this request: the response will carry a new id, drawn now and used at commit.
    if (this.#status === 'stored' && this.#changesHands(owner)) {
      this.#next ??= newId(this.#o, this.#ctx, owner)
      return this.#next
    }
    this.#id ??= newId(this.#o, this.#ctx, owner)
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
    return this.#queue(() => this.#commit(force))
  }

  /** A new id; the old one is deleted from the store at once, so no later request can use it. */
  regenerate(): Promise<void> {
    return this.#queue(async () => {
      await this.#removeReplaced()
      const session = this.get() ?? new Session(this)
      const leaving = this.#storedId()
      if (this.#status === 'stored') await leaveSession(this.#saving(), session, this.#id as string)
      else if (leaving !== undefined) await this.#store.remove(leaving.id, leaving.owner)
      if (!this.#o.regenerateKeepsData) clear(session)
      this.#session = session
      this.#detach()
    })
  }

  async #commit(force: boolean): Promise<void> {
    // Deleting is a security operation: it fails closed whatever `failOpen` says.
    await this.#removeReplaced()
    const session = this.#session
    if (session === null) return this.#carrier.clear()
    if (session === undefined) return
    if (this.#status === 'stored' && this.#changesHands(ownerOf(this.#o, session.toJSON()))) {
      // A login: the session moves to a new id in the owner's slot, and the old id dies first.
      const next = this.#next
      await leaveSession(this.#saving(), session, this.#id as string)
      this.#detach()
      this.#id = next
    }
    const failOpen = (err: unknown) => this.#failOpen(err)
    // Awaited, not returned: an async function that returns a promise takes two more microtask turns.
    if (this.#status === 'stored') await this.#update(session, force).catch(failOpen)
    else if (this.#status === 'new') await this.#create(session, force).catch(failOpen)
    // gone, unavailable: nothing may be written.
  }

  async #create(session: Session, force: boolean): Promise<void> {
    const id = await createSession(this.#saving(), session, this.#id, force)
    // A guest (nothing stored until there is something to keep) gets an id all the same.
    if (id === undefined) return this.#carrier.send(this.id as string, this.maxAge)
    this.#id = id
    this.#maxAge = undefined
    this.#become('stored')
    this.#carrier.send(id, this.maxAge)
  }

  async #update(session: Session, force: boolean): Promise<void> {
    const maxAgeChanged = this.#maxAge !== undefined
    const { outcome, renew } = await updateSession(this.#saving(), session, this.#id as string, force)
    if (outcome === 'refused') {
      // Destroyed, regenerated or expired meanwhile: it stays dead, and the client keeps whatever
      // newer id another response gave it.
      debug('write refused: the session no longer exists')
      return this.#become('gone')
    }
    this.#maxAge = undefined
    // As koa-session: a saved change sends the cookie again, so its expiry follows activity.
    if (outcome === 'written' || this.#o.rolling || renew || maxAgeChanged || this.#carrier.stale) {
      this.#carrier.send(this.#id as string, this.maxAge)
    }
  }

  #saving(): Saving {
    return { o: this.#o, ctx: this.#ctx, store: this.#store, snapshot: this.#snapshot, maxAge: this.#maxAge }
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
    this.#remove = undefined
    if (remove !== undefined) await this.#store.remove(remove.id, remove.owner)
    const old = this.#removeOld
    this.#removeOld = undefined
    if (old !== undefined) await this.#endOld(old)
  }

  /**
   * Ends an old library's session that a logout reached before it was moved: moved first (the old key
   * then keeps no data, and every copy of the old cookie leads to our id), then removed. What this
   * request set after the logout stays.
   */
  async #endOld(oldId: string): Promise<void> {
    const [session, status] = [this.#session, this.#status]
    const adopted = await this.adoptOld(oldId)
    if (adopted !== undefined) await this.#store.remove(adopted.id, { user: this.#snapshot.meta._u })
    const m = this.#o.migrate as NonNullable<Resolved['migrate']>
    if (m.key !== this.#o.key) this.#ctx.cookies.set(m.key, null, { signed: m.signed })
    this.#session = session
    this.#id = undefined
    this.#snapshot.meta = {}
    this.#snapshot.json.clear()
    this.#become(status)
  }

  /** What a destroy or regenerate leaves: the stored session, or the incoming id of one never loaded. */
  #storedId(): StoredId | undefined {
    if (this.#status === 'stored') return { id: this.#id as string, owner: { user: this.#snapshot.meta._u } }
    // Never loaded (`lazy`), or the load failed (`failOpen`): the incoming id's session must still go, or
    // a logout answered 200 would leave it alive for a copied cookie. The store finds its owner.
    const unloaded = this.#status === 'unread' || this.#status === 'unavailable'
    if (unloaded && this.#carrier.id !== undefined) return { id: this.#carrier.id }
    return undefined
  }

  #queue(step: () => Promise<void>): Promise<void> {
    // The first step starts at once: chained on a resolved promise it would wait for a microtask turn.
    const run = this.#chain === undefined ? step() : this.#chain.then(step)
    this.#chain = run.catch(() => undefined)
    return run
  }

  /** A load or save failed: rethrown, unless `failOpen` serves an empty, unsaved session instead of a 503. */
  #failOpen(err: unknown): void {
    if (!this.#o.failOpen || !isStoreFailure(err)) throw err
    emit(this.#ctx, 'session:error', { error: err })
    this.#session ??= new Session(this)
    this.#become('unavailable')
  }

  /** Copies data onto the session; keys that name its own members are skipped and reported. */
  #assign(data: Record<string, unknown>): void {
    const skipped = assign(this.#session as Session, data)
    for (const key of skipped) emit(this.#ctx, 'session:invalid', { reason: 'reserved key', key })
  }

  #become(status: Status): void {
    this.#status = status
  }

  /** No stored session (none, missed, expired, invalid): a new one; a custom `genid` runs now, as in koa-session. */
  #fresh(event?: string, detail: object = {}): void {
    if (event !== undefined) emit(this.#ctx, event, detail)
    this.#become('new')
    if (this.#o.genid) this.#id = newId(this.#o, this.#ctx, undefined)
  }

  #changesHands(owner: string | undefined): boolean {
    return owner !== undefined && owner !== this.#snapshot.meta._u
  }
}
