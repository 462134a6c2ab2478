/**
 * koa-session-redis3 as an app would use it: `lazy: true`, so a request that never calls
 * `ctx.loadSession()` costs no Redis command at all. Defaults otherwise (signed cookie, hashed ids).
 */
import { createServer } from 'node:http'
import Koa from 'koa'
import { RedisStore, session } from '../../src/index.js'
import {
  access,
  act,
  isRollingPath,
  MAX_AGE_MS,
  parseRoute,
  SECRET,
  type SessionAccess,
} from '../lib/scenarios.js'
import { attach, listen, serverEnv } from './harness.js'

const { port, redisPort } = serverEnv()
// One store (one connection) for both apps, as one app with two middleware configurations would have.
const store = new RedisStore({ host: '127.0.0.1', port: redisPort })

function makeApp(rolling: boolean): Koa {
  const app = new Koa()
  app.keys = [SECRET]
  app.use(session({ store, lazy: true, rolling, maxAge: MAX_AGE_MS }, app))
  app.use(async (ctx) => {
    const route = parseRoute(ctx.url)
    if (route === undefined) return
    ctx.body = await act(route, async (): Promise<SessionAccess> => {
      const s = (await ctx.loadSession()) as Record<string, unknown>
      return access(s)
    })
  })
  return app
}

const plain = makeApp(false).callback()
const rolling = makeApp(true).callback()
const server = createServer((req, res) => (isRollingPath(req.url) ? rolling : plain)(req, res))
await listen(server, port)
attach(server, async () => {
  server.close()
  await store.close()
})
