/** The id as the request carried it (which transport, signed by which key), and the answer on that carrier. */
import type { Context } from 'koa'
import { isWellFormedId } from './id.js'
import type { Resolved } from './options.js'
import type { Transport } from './transport/types.js'

/** Reads the incoming id once, and sends ids back on the transport it came in on. */
export class Carrier {
  /** The well-formed, correctly signed id the request carried, if any. */
  id: string | undefined
  /** Signed with an older key: the saved session sends it again, newly signed. */
  stale = false
  #read = false
  /** Answers go back on the carrier the id came in on: a cookie client's id is not also put in a header. */
  #via: Transport | undefined
  readonly #ctx: Context
  readonly #o: Resolved

  constructor(ctx: Context, o: Resolved) {
    this.#ctx = ctx
    this.#o = o
  }

  /** Reads the id from the transports; malformed or forged ids are dropped (and reported) before any store call. */
  read(onInvalid: (reason: string) => void): void {
    if (this.#read) return
    this.#read = true
    const o = this.#o
    for (const transport of o.transports) {
      const value = transport.read(this.#ctx)
      if (value === undefined) continue
      if (value !== null && isWellFormedId(value.id, o.prefix, o.genid !== undefined)) {
        this.id = value.id
        this.#via = transport
        this.stale = value.stale
        return
      }
      // An old library's id (`migrate`, same cookie name) is not malformed: the migration reads it.
      if (value !== null && o.migrate?.isOldId(value.id)) continue
      onInvalid(value === null ? 'bad signature' : 'malformed id')
    }
  }

  /** Sends `id` back (newly signed). */
  send(id: string, maxAge: number | 'session'): void {
    for (const t of this.#via ? [this.#via] : this.#o.transports) t.write(this.#ctx, id, maxAge)
    this.stale = false
  }

  /** From here the request carries `id`, a session moved from an old library (`migrate`), and the response sends it. */
  adopt(id: string, maxAge: number | 'session'): void {
    this.id = id
    this.send(id, maxAge)
  }

  /**
   * Tells the client to forget its id, on every carrier but one that carries another valid id (a cookie
   * beside the header that was read): that id names a session that was not ended, and clearing it would
   * hide a live session from the client.
   */
  clear(): void {
    const o = this.#o
    for (const t of o.transports) {
      if (t !== this.#via && this.#via !== undefined) {
        const other = t.read(this.#ctx)
        if (other && other.id !== this.id && isWellFormedId(other.id, o.prefix, o.genid !== undefined))
          continue
      }
      t.clear(this.#ctx)
    }
  }
}
