/**
 * The yardstick (1.0): a hand-written Koa handler with plain ioredis. A read is one GET of a JSON string, a
 * write one SET PX of the whole JSON; the id is 32 random bytes in an unsigned cookie. No signing, no
 * change tracking beyond "was anything set", no TTL slide on reads: the least a Redis session can cost.
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import Koa, { type Context } from 'koa'
import { act, MAX_AGE_MS, parseRoute } from '../lib/scenarios.js'
import { serveKoa, serverEnv } from './harness.js'

const { port, redisPort } = serverEnv()
const redis = new Redis({ host: '127.0.0.1', port: redisPort })
const KEY = 'hw:'
const COOKIE = { httpOnly: true, sameSite: 'lax', maxAge: MAX_AGE_MS, signed: false } as const

function setCookie(ctx: Context, sid: string): void {
  ctx.cookies.set('sid', sid, COOKIE)
}

function makeApp(rolling: boolean): Koa {
  const app = new Koa()
  app.use(async (ctx) => {
    const route = parseRoute(ctx.url)
    if (route === undefined) return
    let sid = ctx.cookies.get('sid', { signed: false }) || undefined
    let data: Record<string, unknown> | undefined
    let dirty = false
    ctx.body = await act(route, async () => {
      if (data === undefined) {
        const raw = sid === undefined ? null : await redis.get(KEY + sid)
        if (raw === null) sid = undefined
        data = raw === null ? {} : (JSON.parse(raw) as Record<string, unknown>)
      }
      const d = data
      return {
        get: (key) => d[key],
        set: (key, value) => {
          d[key] = value
          dirty = true
        },
      }
    })
    if (dirty) {
      const created = sid === undefined
      sid ??= randomBytes(32).toString('base64url')
      await redis.set(KEY + sid, JSON.stringify(data), 'PX', MAX_AGE_MS)
      if (created || rolling) setCookie(ctx, sid)
    } else if (rolling && sid !== undefined) {
      setCookie(ctx, sid)
    }
  })
  return app
}

await serveKoa(makeApp, port, () => redis.quit())
