// Helpers of the adversarial suites: apps with event counters, signing like Koa, raw Redis inspection.
import { createHmac, randomBytes } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import net from 'node:net'
import { Redis } from 'ioredis'
import Koa, { type Context } from 'koa'
import { afterAll } from 'vitest'
import {
  RedisStore,
  type RedisStoreOptions,
  type Session,
  type SessionOptions,
  type SessionStore,
  session,
} from '../../src/index.js'
import type { RedisClient } from '../../src/store/client.js'
import { type RespValue, sendCommand } from '../redis-servers.js'

/** `app.keys` of every security app: the first signs, both verify (as Keygrip does). */
export const APP_KEYS = ['security-key-new', 'security-key-old'] as const
export const COOKIE = 'koa.sess'

/** A key schema no other file or run uses. */
export function schema(file: string): string {
  return `sec:${file}:${process.pid}:${randomBytes(3).toString('hex')}:`
}

/** A well-formed id (32 random bytes, base64url), as the middleware draws them. */
export function randomId(): string {
  return randomBytes(32).toString('base64url')
}

/** Keygrip's signature (HMAC-SHA1, base64url) of `data` with `key`: what Koa's cookies and the header transport use. */
export function sign(data: string, key: string = APP_KEYS[0]): string {
  return createHmac('sha1', key).update(data).digest('base64url')
}

/** A Cookie header carrying `id` in the session cookie with a correct signature (or the given one, or none). */
export function cookieFor(id: string, sig: string | null = sign(`${COOKIE}=${id}`)): string {
  return sig === null ? `${COOKIE}=${id}` : `${COOKIE}=${id}; ${COOKIE}.sig=${sig}`
}

/** A header-transport value: `id.signature` over `name=id`, as the middleware sends it. */
export function headerFor(name: string, id: string, key: string = APP_KEYS[0]): string {
  return `${id}.${sign(`${name.toLowerCase()}=${id}`, key)}`
}

/** App-level events of one app, counted. */
export interface Events {
  invalid: number
  missed: number
  expired: number
  /** Errors Koa reported (a 5xx cause, if any). */
  errors: unknown[]
  reset(): void
}

/** A Koa app with `APP_KEYS`, the session middleware and `handler`(s), plus counters of its events. */
export function makeApp(
  options: SessionOptions,
  handler: Koa.Middleware | Koa.Middleware[],
): { app: Koa; events: Events } {
  const app = new Koa()
  app.keys = [...APP_KEYS]
  app.silent = true
  const events: Events = {
    invalid: 0,
    missed: 0,
    expired: 0,
    errors: [],
    reset() {
      this.invalid = 0
      this.missed = 0
      this.expired = 0
      this.errors = []
    },
  }
  app.on('session:invalid', () => events.invalid++)
  app.on('session:missed', () => events.missed++)
  app.on('session:expired', () => events.expired++)
  app.on('error', (err: unknown) => events.errors.push(err))
  app.use(session(options, app))
  for (const h of Array.isArray(handler) ? handler : [handler]) app.use(h)
  return { app, events }
}

/** The session id a response hands out in its Set-Cookie, if any (empty string when cleared). */
export function cookieId(res: { headers: Record<string, unknown> }): string | undefined {
  for (const line of (res.headers['set-cookie'] as string[] | undefined) ?? []) {
    const [pair] = line.split(';') as [string]
    if (pair.startsWith(`${COOKIE}=`)) return pair.slice(COOKIE.length + 1)
  }
  return undefined
}

/** A Cookie header replaying the session cookie (and its signature) of a response. */
export function replay(res: { headers: Record<string, unknown> }): string {
  const id = cookieId(res)
  if (id === undefined) throw new Error('the response set no session cookie')
  return cookieFor(id)
}

/** The id in a header-transport value: `id.sig` when signed, the bare id otherwise. */
export function headerId(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined
  const dot = value.lastIndexOf('.')
  return dot < 0 ? value : value.slice(0, dot)
}

/** A promise with its resolver outside, to hold a request in its handler until the test releases it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined
  const promise = new Promise<void>((resolve) => {
    open = resolve
  })
  return { promise, open }
}

/** Resolves once `check()` is true (polling every 2 ms), or rejects after `ms`. */
export async function until(check: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

// ---------------------------------------------------------------------------------------------------
// Redis inspection

/** Every key under `prefix` (KEYS, fine on a test server). */
export async function keysUnder(port: number, prefix: string): Promise<string[]> {
  return ((await sendCommand(port, ['KEYS', `${prefix}*`])) as string[]).sort()
}

/** One key with its type, TTL and every string it holds (field names and values, members, or the value). */
export interface DumpedKey {
  key: string
  type: string
  pttl: number
  strings: string[]
  hash?: Record<string, string>
}

/** Everything stored under `prefix`: keys, types, TTLs and contents. */
export async function dump(port: number, prefix: string): Promise<DumpedKey[]> {
  const out: DumpedKey[] = []
  for (const key of await keysUnder(port, prefix)) {
    const type = String(await sendCommand(port, ['TYPE', key]))
    const pttl = Number(await sendCommand(port, ['PTTL', key]))
    let strings: string[] = []
    let hash: Record<string, string> | undefined
    if (type === 'hash') {
      strings = (await sendCommand(port, ['HGETALL', key])) as string[]
      hash = {}
      for (let i = 0; i < strings.length; i += 2) hash[strings[i] as string] = strings[i + 1] as string
    } else if (type === 'set') {
      strings = (await sendCommand(port, ['SMEMBERS', key])) as string[]
    } else if (type === 'string') {
      strings = [String(await sendCommand(port, ['GET', key]))]
    } else if (type === 'list') {
      strings = (await sendCommand(port, ['LRANGE', key, '0', '-1'])) as string[]
    } else if (type === 'zset') {
      strings = (await sendCommand(port, ['ZRANGE', key, '0', '-1'])) as string[]
    }
    out.push(hash === undefined ? { key, type, pttl, strings } : { key, type, pttl, strings, hash })
  }
  return out
}

/** Calls per command since the last `CONFIG RESETSTAT`, from `INFO commandstats`, without our own probes. */
export async function commandStats(port: number): Promise<Record<string, number>> {
  const info = String(await sendCommand(port, ['INFO', 'commandstats']))
  const out: Record<string, number> = {}
  for (const line of info.split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line)
    if (m && !/^(info|config)(\||$)/.test(m[1] as string)) out[m[1] as string] = Number(m[2])
  }
  return out
}

export async function resetStats(port: number): Promise<void> {
  await sendCommand(port, ['CONFIG', 'RESETSTAT'])
}

/**
 * An ioredis client whose every method call the store makes is recorded in `calls` (name and
 * first key), so a request's Redis traffic can be attributed to it.
 */
export function countingClient(port: number): {
  client: RedisClient
  calls: string[]
  quit: () => Promise<void>
} {
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, lazyConnect: false })
  redis.on('error', () => undefined)
  const calls: string[] = []
  const client = new Proxy(redis, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        calls.push(`${String(prop)} ${String(args[2] ?? args[0] ?? '')}`)
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return {
    client: client as unknown as RedisClient,
    calls,
    quit: async () => {
      await redis.quit()
    },
  }
}

// ---------------------------------------------------------------------------------------------------
// Raw HTTP, for bytes no HTTP client lets through (control characters, bare CR, NUL)

/** Serves `app` on an ephemeral port; the caller closes it. */
export async function listen(app: Koa): Promise<http.Server> {
  const server = http.createServer(app.callback())
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

/** Sends `head` (request line and headers, CRLF-separated, without the final blank line) and returns the raw response. */
export function rawRequest(server: http.Server, head: string): Promise<string> {
  const { port } = server.address() as AddressInfo
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    let out = Buffer.alloc(0)
    socket.setTimeout(2_000, () => socket.destroy(new Error('raw request timed out')))
    socket.on('data', (chunk: Buffer) => {
      out = Buffer.concat([out, chunk])
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(out.toString('latin1')))
    socket.write(Buffer.from(`${head}\r\nConnection: close\r\n\r\n`, 'latin1'))
  })
}

export type { RespValue }

/** `ctx.session`, which these tests never expect to be null. */
export function sess(ctx: Context): Session {
  const s = ctx.session
  if (s === null) throw new Error('no session')
  return s
}

/** Stops the servers of finished tests and empties and closes their stores. */
export async function closeRigs(rigs: { server: http.Server; store: SessionStore }[]): Promise<void> {
  for (const r of rigs) {
    r.server.close()
    await r.store.clear()
    await r.store.close()
  }
}

/**
 * RedisStores of one test file: `make` creates one on `port` with a key schema of its own, `keep`
 * takes one made elsewhere; all are cleared and closed once the file is done.
 */
export function fileStores(port: number, file: string) {
  const stores: SessionStore[] = []
  afterAll(async () => {
    for (const store of stores) {
      await store.clear().catch(() => undefined)
      await store.close()
    }
  })
  const keep = <S extends SessionStore>(store: S): S => {
    stores.push(store)
    return store
  }
  const make = (options: RedisStoreOptions = {}) =>
    keep(new RedisStore({ port, keySchema: schema(file), ...options }))
  return { make, keep }
}
