import Koa from 'koa'
import redisStore from 'koa-redis'
import createSession from 'koa-session'
import { access, act, MAX_AGE_MS, parseRoute, SECRET } from '../lib/scenarios.js'
import { serveKoa, serverEnv } from './harness.js'

const { port, redisPort, cluster } = serverEnv()
// koa-redis's Cluster options, from its README: `isRedisCluster` with the startup `nodes`.
const store = redisStore(
  cluster === undefined ? { host: '127.0.0.1', port: redisPort } : { isRedisCluster: true, nodes: cluster },
)

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

await serveKoa(makeApp, port, () => store.client.quit())
