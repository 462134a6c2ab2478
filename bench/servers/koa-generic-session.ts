import Koa from 'koa'
import session from 'koa-generic-session'
import redisStore from 'koa-redis'
import { access, act, MAX_AGE_MS, parseRoute, SECRET } from '../lib/scenarios.js'
import { serveKoa, serverEnv } from './harness.js'

const { port, redisPort } = serverEnv()
const store = redisStore({ host: '127.0.0.1', port: redisPort })

function makeApp(rolling: boolean): Koa {
  const app = new Koa()
  app.keys = [SECRET]
  app.use(
    session({
      store,
      defer: true,
      rolling,
      cookie: { maxAge: MAX_AGE_MS, httpOnly: true, sameSite: 'lax', path: '/', signed: true },
    }),
  )
  app.use(async (ctx) => {
    const route = parseRoute(ctx.url)
    if (route === undefined) return
    ctx.body = await act(route, async () => {
      // With `defer`, ctx.session is a promise of the session object.
      const s = (await (ctx as unknown as { session: Promise<Record<string, unknown>> }).session) ?? {}
      return access(s)
    })
  })
  return app
}

await serveKoa(makeApp, port, () => store.client.quit())
