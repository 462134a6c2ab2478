/**
 * Fastify 5 + @fastify/cookie + @fastify/session with connect-redis 9 (node-redis 5 client) as the store.
 * @fastify/session defaults to `rolling: true` and secure cookies; both are set explicitly here.
 */
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import { RedisStore } from 'connect-redis'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { createClient } from 'redis'
import { act, MAX_AGE_MS, parseRoute, SCENARIOS, SECRET } from '../lib/scenarios.js'
import { attach, serverEnv } from './harness.js'

const { port, redisPort } = serverEnv()
const client = createClient({ socket: { host: '127.0.0.1', port: redisPort } })
await client.connect()
const store = new RedisStore({ client })

interface KeyValue {
  get(key: string): unknown
  set(key: string, value: unknown): void
}

async function handler(request: FastifyRequest, reply: FastifyReply): Promise<string> {
  const route = parseRoute(request.url)
  if (route === undefined) return reply.code(404).send()
  const s = request.session as unknown as KeyValue
  reply.type('text/plain')
  return act(route, async () => ({
    get: (key) => s.get(key),
    set: (key, value) => s.set(key, value),
  }))
}

// Each configuration in its own encapsulated context: @fastify/session decorates the context it is registered in.
function sessionContext(rolling: boolean) {
  return async (scope: FastifyInstance) => {
    await scope.register(fastifySession, {
      secret: SECRET,
      store: store as never,
      saveUninitialized: false,
      rolling,
      cookie: { secure: false, httpOnly: true, sameSite: 'lax', path: '/', maxAge: MAX_AGE_MS },
    })
    for (const scenario of SCENARIOS) {
      if ((scenario === 'rolling') !== rolling) continue
      scope.get(`/${scenario}`, handler)
      scope.get(`/${scenario}/setup`, handler)
    }
  }
}

const app = Fastify({ logger: false })
await app.register(fastifyCookie)
await app.register(sessionContext(false))
await app.register(sessionContext(true))
await app.listen({ host: '127.0.0.1', port })
attach(app.server, async () => {
  await app.close()
  await client.quit()
})
