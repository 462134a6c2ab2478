/** Ours as a benchmark server, shared by the variants that differ only in RedisStore options (`ours`, `ours-cache`). */
import Koa from 'koa'
import { RedisStore, type RedisStoreOptions, session } from '../../src/index.js'
import { access, act, MAX_AGE_MS, parseRoute, SECRET, type SessionAccess } from '../lib/scenarios.js'
import { serveKoa, serverEnv } from './harness.js'

/** Serves the benchmark's routes through our middleware on one RedisStore with `options` added. */
export async function serveOurs(options: RedisStoreOptions = {}): Promise<void> {
  const { port, redisPort, cluster } = serverEnv()
  // One store (one connection) for both apps, as one app with two middleware configurations would have.
  const where = cluster === undefined ? { host: '127.0.0.1', port: redisPort } : { cluster }
  const store = new RedisStore({ ...where, ...options })

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

  await serveKoa(makeApp, port, () => store.close())
}
