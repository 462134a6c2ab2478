/** The carrier of a session id: a cookie, a header, or the app's own `externalKey`. */
import type { Context } from 'koa'

/** An id as a request carried it. */
export interface Incoming {
  readonly id: string
  /** Signed with an older key: answer with the newest signature when the session is saved. */
  readonly stale: boolean
}

/** A small strategy object per carrier; the middleware never touches cookies or headers itself. */
export interface Transport {
  /** The id the request carries, signature checked; `undefined` when absent, `null` when present but forged or malformed. */
  read(ctx: Context): Incoming | null | undefined
  /** Sends `id` back; `maxAge` in ms, or `'session'` for a browser-session cookie. */
  write(ctx: Context, id: string, maxAge: number | 'session'): void
  /** Tells the client to forget the id. */
  clear(ctx: Context): void
}
