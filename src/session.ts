/** `ctx.session`: the app's data as own properties, and koa-session's methods on the prototype. */

/**
 * Your session data. Augment it to type `ctx.session`:
 *
 * @example
 * declare module 'koa-session-redis3' {
 *   interface SessionData { views: number }
 * }
 */
// biome-ignore lint/suspicious/noEmptyInterface: declared empty so apps can augment it.
export interface SessionData {}

/** What a Session needs from the request it belongs to. */
export interface SessionOwner {
  readonly isNew: boolean
  /** The id this response carries (`ctx.sessionId`). */
  readonly id: string | undefined
  readonly storeUnavailable: boolean
  maxAge: number | 'session'
  commit(force: boolean): Promise<void>
  regenerate(): Promise<void>
  /** A failure nobody awaits (a throwing callback): reported through Koa's `app.emit('error')`. */
  report(err: unknown): void
}

/**
 * Names that are never session data: the session's own members, and what every object inherits
 * (`toString`, `hasOwnProperty`, `__proto__`, ...). Data that carries one (`ctx.session =
 * JSON.parse(body)`, or a stored field) would otherwise shadow a method, break the session, or choose
 * its own lifetime through an accessor; it is skipped.
 */
const RESERVED = new Set([
  'isNew',
  'externalKey',
  'storeUnavailable',
  'maxAge',
  'length',
  'populated',
  'toJSON',
  'inspect',
  'save',
  'manuallyCommit',
  'regenerate',
  'prototype',
  ...Object.getOwnPropertyNames(Object.prototype),
])

/** True for a top-level key that is never stored as session data (see {@link RESERVED}). */
export function isReserved(key: string): boolean {
  return RESERVED.has(key)
}

type Callback = (err?: unknown) => void

/**
 * The session of the current request. Top-level keys starting with `_` are not saved (as in
 * koa-session), and neither are values JSON cannot represent (functions, `undefined`).
 *
 * @example
 * ctx.session.views = (ctx.session.views ?? 0) + 1
 */
export class Session {
  [key: string]: unknown
  // A private field: invisible to Object.keys, spread and JSON, so the own keys are the app's data only.
  readonly #owner: SessionOwner

  constructor(owner: SessionOwner, data?: Record<string, unknown>) {
    this.#owner = owner
    if (data) assign(this, data)
  }

  /** True when the session was created by this request (no id, an unknown id, or after `regenerate()`). */
  get isNew(): boolean {
    return this.#owner.isNew
  }

  /**
   * The session's id, as koa-session 7 names it: the same as `ctx.sessionId` (drawn now for a new
   * session). A secret: never put it in a page or a log.
   */
  get externalKey(): string | undefined {
    return this.#owner.id
  }

  /** True when the store failed and `failOpen` served this empty session; nothing will be saved. */
  get storeUnavailable(): boolean {
    return this.#owner.storeUnavailable
  }

  /** This session's idle timeout and cookie lifetime, ms or `'session'`; settable per session. */
  get maxAge(): number | 'session' {
    return this.#owner.maxAge
  }

  set maxAge(value: number | 'session') {
    this.#owner.maxAge = value
  }

  /** Number of saved top-level keys. */
  get length(): number {
    return Object.keys(this.toJSON()).length
  }

  /** True when the session holds data. */
  get populated(): boolean {
    return this.length > 0
  }

  /** The data that is saved: own keys not starting with `_`, whose values JSON can hold. */
  toJSON(): Record<string, unknown> {
    const data: Record<string, unknown> = {}
    for (const key of Object.keys(this)) {
      const value = this[key]
      if (key.charCodeAt(0) !== 95 /* _ */ && value !== undefined && typeof value !== 'function')
        data[key] = value
    }
    return data
  }

  /** The data, as koa-session's `inspect()` gives it (also what `util.inspect` and `console.log` show). */
  inspect(): Record<string, unknown> {
    return this.toJSON()
  }

  [Symbol.for('nodejs.util.inspect.custom')](): Record<string, unknown> {
    return this.toJSON()
  }

  /** Saves now, even an empty session. Takes an optional Node-style callback (passport). */
  save(callback?: Callback): Promise<void> {
    return settle(this.#owner.commit(true), callback, this.#owner)
  }

  /** Commits now (with `autoCommit: false`). */
  manuallyCommit(): Promise<void> {
    return this.#owner.commit(false)
  }

  /**
   * Gives the session a new id and kills the old one at once (call it at login). The data is
   * kept unless `regenerateKeepsData: false`. Takes an optional Node-style callback (passport).
   */
  regenerate(callback?: Callback): Promise<void> {
    return settle(this.#owner.regenerate(), callback, this.#owner)
  }
}

/**
 * Copies the own keys of `data` onto the session, except reserved ones (see {@link RESERVED}).
 * Returns the keys skipped. Plain assignment, not Object.assign: a `__proto__` key from JSON.parse
 * would otherwise replace the session's prototype.
 */
export function assign(session: Session, data: Record<string, unknown>): string[] {
  const skipped: string[] = []
  for (const key of Object.keys(data)) {
    if (RESERVED.has(key)) skipped.push(key)
    else session[key] = data[key]
  }
  return skipped
}

function settle(promise: Promise<void>, callback: Callback | undefined, owner: SessionOwner): Promise<void> {
  if (!callback) return promise
  const call = (err?: unknown) => {
    // A bug in the app's callback must not become an unhandled rejection that ends the process.
    try {
      callback(err)
    } catch (thrown) {
      owner.report(thrown)
    }
  }
  promise.then(() => call(), call)
  // With a callback the caller handles errors there; do not also leave a rejected promise behind.
  return promise.catch(() => undefined)
}

/** Removes every data key from the session. */
export function clear(session: Session): void {
  for (const key of Object.keys(session)) delete session[key]
}
