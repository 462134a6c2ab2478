/** Shared helpers for HTTP tests: an app with the middleware, and cookie handling. */
import Koa from 'koa'
import { inject } from 'vitest'
import { type SessionOptions, session } from '../src/index.js'
import { RedisStore } from '../src/store/redis.js'
import { sendCommand } from './redis-servers.js'

let schemas = 0

/** A RedisStore on the suite's own standalone server, with a key schema no other test uses. */
export function testStore(options: { ttl?: number; hashIds?: boolean } = {}): RedisStore {
  return new RedisStore({ port: inject('redisPort'), keySchema: `t${process.pid}:${++schemas}:`, ...options })
}

/** A Koa app with `app.keys`, the session middleware and `handler`. */
export function makeApp(options: SessionOptions, handler: Koa.Middleware): Koa {
  const app = new Koa()
  app.keys = ['key-one', 'key-zero']
  app.silent = true
  app.use(session(options, app))
  app.use(handler)
  return app
}

/** The `name=value` pairs of a response's Set-Cookie headers. */
export function cookiesOf(res: { headers: Record<string, unknown> }): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of (res.headers['set-cookie'] as string[] | undefined) ?? []) {
    const [pair] = line.split(';') as [string]
    const at = pair.indexOf('=')
    out[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return out
}

/** A Cookie header replaying the session cookie and its signature from a response. */
export function cookieHeader(res: { headers: Record<string, unknown> }, key = 'koa.sess'): string {
  const c = cookiesOf(res)
  return `${key}=${c[key]}; ${key}.sig=${c[`${key}.sig`]}`
}

/** Keys in a Redis server's tracking table (`INFO stats`), every client's: Redis keeps them after a client is gone. */
export async function trackedKeys(port: number): Promise<number> {
  const info = String(await sendCommand(port, ['INFO', 'stats']))
  const found = /^tracking_total_keys:(\d+)/m.exec(info)
  if (!found) throw new Error(`no tracking_total_keys in INFO stats: ${info}`)
  return Number(found[1])
}
