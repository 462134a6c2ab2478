/** Bare Koa: the same routes and bodies, no session and no Redis at all. The ceiling. */
import { createServer } from 'node:http'
import Koa from 'koa'
import { access, act, parseRoute, type SessionAccess } from '../lib/scenarios.js'
import { attach, listen, serverEnv } from './harness.js'

const { port } = serverEnv()

// A session that lives only in this request, so the handler body is exactly the one the others run.
const local = async (): Promise<SessionAccess> => {
  return access({ views: 1 })
}

const app = new Koa()
app.use(async (ctx) => {
  const route = parseRoute(ctx.url)
  if (route === undefined) return
  ctx.body = await act(route, local)
})

const server = createServer(app.callback())
await listen(server, port)
attach(server, async () => {
  server.close()
})
