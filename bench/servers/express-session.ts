/**
 * Express 5 + express-session + connect-redis 9 on a node-redis 5 client, configured as connect-redis's
 * README shows (`resave: false`, `saveUninitialized: false`).
 */
import { createServer } from 'node:http'
import { RedisStore } from 'connect-redis'
import express from 'express'
import expressSession from 'express-session'
import { createClient } from 'redis'
import { access, act, isRollingPath, MAX_AGE_MS, parseRoute, SECRET } from '../lib/scenarios.js'
import { attach, listen, serverEnv } from './harness.js'

const { port, redisPort } = serverEnv()
const client = createClient({ socket: { host: '127.0.0.1', port: redisPort } })
await client.connect()
// One store (one connection) for both apps.
const store = new RedisStore({ client })

function makeApp(rolling: boolean): express.Express {
  const app = express()
  app.disable('x-powered-by')
  app.use(
    expressSession({
      store,
      secret: SECRET,
      resave: false,
      saveUninitialized: false,
      rolling,
      cookie: { maxAge: MAX_AGE_MS, httpOnly: true, sameSite: 'lax' },
    }),
  )
  app.use((req, res, next) => {
    const route = parseRoute(req.url)
    if (route === undefined) {
      res.status(404).end()
      return
    }
    const s = req.session as unknown as Record<string, unknown>
    act(route, async () => access(s)).then((body) => res.type('text/plain').send(body), next)
  })
  return app
}

const plain = makeApp(false)
const rolling = makeApp(true)
const server = createServer((req, res) => (isRollingPath(req.url) ? rolling : plain)(req, res))
await listen(server, port)
attach(server, async () => {
  server.close()
  await client.quit()
})
