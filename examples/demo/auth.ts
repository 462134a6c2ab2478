/** The demo's users (alice and bob, password "password") and its passport (koa-passport + passport-local). */
import { createHash, timingSafeEqual } from 'node:crypto'
import { createRequire } from 'node:module'
import type { Context, Middleware } from 'koa'
import { Strategy as LocalStrategy } from 'passport-local'

/** A user of the demo. */
export interface DemoUser {
  id: string
  name: string
}

const USERS = new Map<string, DemoUser>([
  ['alice', { id: 'alice', name: 'Alice' }],
  ['bob', { id: 'bob', name: 'Bob' }],
])
const PASSWORD_HASH = sha256('password')

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** The user these credentials belong to, if any. Compares in constant time, as a real app would. */
export function verify(username: unknown, password: unknown): DemoUser | undefined {
  if (typeof username !== 'string' || typeof password !== 'string') return undefined
  const user = USERS.get(username)
  const ok = timingSafeEqual(sha256(password), PASSWORD_HASH)
  return ok ? user : undefined
}

/** The parts of koa-passport's Authenticator the demo uses (koa-passport ships no types). */
export interface KoaAuthenticator {
  use(strategy: unknown): unknown
  serializeUser(fn: (user: DemoUser, done: (err: unknown, id?: string) => void) => void): void
  deserializeUser(fn: (id: string, done: (err: unknown, user?: DemoUser | false) => void) => void): void
  initialize(): Middleware
  session(): Middleware
  authenticate(name: string, options: { successRedirect: string; failureRedirect: string }): Middleware
}

/** What koa-passport adds to `ctx`. */
export type AuthContext = Context & {
  login(user: DemoUser): Promise<void>
  logout(): Promise<void>
  isAuthenticated(): boolean
}

const require = createRequire(import.meta.url)
const { KoaPassport } = require('koa-passport') as { KoaPassport: new () => KoaAuthenticator }

/** A fresh passport instance (not the koa-passport singleton, so several demo apps can share a process). */
export function createPassport(): KoaAuthenticator {
  const passport = new KoaPassport()
  passport.use(
    new LocalStrategy((username, password, done) => done(null, verify(username, password) ?? false)),
  )
  // The session holds the user id only; `userId: (s) => s.passport?.user` in server.ts reads it back.
  passport.serializeUser((user, done) => done(null, user.id))
  passport.deserializeUser((id, done) => done(null, USERS.get(id) ?? false))
  return passport
}

/** The display name of a user id ("Alice"), or the id itself for one the demo does not know. */
export function nameOf(id: string): string {
  return USERS.get(id)?.name ?? id
}

/** The logged-in user of this request (set by `passport.session()`), if any. */
export function currentUser(ctx: Context): DemoUser | undefined {
  return (ctx.state as { user?: DemoUser }).user || undefined
}
