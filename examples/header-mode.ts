// An API for a front end on another origin: the session id travels in a signed header, not a cookie.
// Run: npx tsx examples/header-mode.ts, then: curl -i localhost:3000 -H 'x-session-id: <value from the last response>'
import cors from '@koa/cors'
import Koa from 'koa'
import session, { MemoryStore } from '../src/index.js'

const app = new Koa()
app.keys = [process.env.SESSION_KEY ?? 'change me']
app.use(cors({ origin: process.env.SPA_ORIGIN ?? 'http://localhost:3001' }))
app.use(session({ store: new MemoryStore(), header: 'x-session-id', cookie: false }, app))
app.use((ctx) => {
  if (!ctx.session) return
  const views = ((ctx.session.views as number | undefined) ?? 0) + 1
  ctx.session.views = views
  ctx.body = { views }
})
app.listen(Number(process.env.PORT ?? 3000))
