/** koa-session 7 with koa-redis 4 as its external store (the combination most Koa apps run). */
import { createServer } from 'node:http'
import Koa from 'koa'
import redisStore from 'koa-redis'
import createSession from 'koa-session'
import { access, act, isRollingPath, MAX_AGE_MS, parseRoute, SECRET } from '../lib/scenarios.js'
import { attach, listen, serverEnv } from './harness.js'

const { port, redisPort } = serverEnv()
const store = redisStore({ host: '127.0.0.1', port: redisPort })

function makeApp(rolling: boolean): Koa {
  const app = new Koa()
  app.keys = [SECRET]
  // koa-session's typings want zod-shaped functions; koa-redis returns plain promises, which is what it calls.
  app.use(createSession({ store: store as never, rolling, maxAge: MAX_AGE_MS }, app))
  app.use(async (ctx) => {
    const route = parseRoute(ctx.url)
    if (route === undefined) return
    // koa-session loads before the handler runs: ctx.session is ready (typed here by our own augmentation).
    const s = ctx.session as unknown as Record<string, unknown>
    ctx.body = await act(route, async () => access(s))
  })
  return app
}

const plain = makeApp(false).callback()
const rolling = makeApp(true).callback()
const server = createServer((req, res) => (isRollingPath(req.url) ? rolling : plain)(req, res))
await listen(server, port)
attach(server, async () => {
  server.close()
  await store.client.quit()
})
