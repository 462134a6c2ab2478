// `migrate` when Redis fails half way: the old session stays readable until ours is written, and the
// next request finishes the move on the same new id. Real servers, killed at the exact step.
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RedisClient } from '../src/index.js'
import { cookiesOf } from './helpers.js'
import { ourApp, signedCookie } from './migrate-apps.js'
import { type RedisServer, startRedis } from './redis-servers.js'

let oldServer: RedisServer
let ourServer: RedisServer
let oldRedis: Redis
let ourRedis: Redis
beforeAll(async () => {
  ;[oldServer, ourServer] = await Promise.all([
    startRedis({ appendonly: true }),
    startRedis({ appendonly: true }),
  ])
  oldRedis = new Redis({ port: oldServer.port, lazyConnect: true })
  ourRedis = new Redis({ port: ourServer.port, lazyConnect: true })
  // The kills below are the test: these clients reconnect by themselves.
  for (const r of [oldRedis, ourRedis]) r.on('error', () => undefined)
})
afterAll(async () => {
  oldRedis?.disconnect()
  ourRedis?.disconnect()
  await Promise.all([oldServer?.stop(), ourServer?.stop()])
})

/** An ioredis client of the old server that runs `before` once, just before the first `command` it sends. */
function interceptedClient(
  command: string,
  before: () => Promise<void>,
): { client: RedisClient; close(): void } {
  const redis = new Redis({ port: oldServer.port, maxRetriesPerRequest: 1 })
  redis.on('error', () => undefined)
  let armed = true
  const client = new Proxy(redis, {
    get(target, name, receiver) {
      if (name !== 'call') return Reflect.get(target, name, receiver)
      return async (cmd: string, ...args: (string | number)[]) => {
        if (armed && cmd === command) {
          armed = false
          await before()
        }
        return target.call(cmd, ...args)
      }
    },
  })
  return { client: client as unknown as RedisClient, close: () => redis.disconnect() }
}

describe('migrate: failures half way', () => {
  it('migrate: our Redis killed between the read of the old session and our write: nothing lost, the next request moves it', async () => {
    const id = randomUUID()
    await oldRedis.set(
      id,
      JSON.stringify({ visits: 4, _expire: Date.now() + 600_000, _maxAge: 600_000 }),
      'PX',
      600_000,
    )
    // PTTL is the last command of the read: our server dies right after it answers.
    const old = interceptedClient('PTTL', async () => {
      await ourServer.kill('SIGKILL')
    })
    const ours = ourApp(ourServer.port, 'f1:', { from: 'koa-redis', client: old.client })
    const cookie = signedCookie('koa.sess', id)
    const failed = await request(ours.app.callback()).get('/peek').set('Cookie', cookie)
    expect(failed.status).toBe(503)
    expect(await oldRedis.get(id)).toContain('"visits":4')
    await ourServer.restart()
    const moved = await request(ours.app.callback()).get('/peek').set('Cookie', cookie)
    expect(moved.status).toBe(200)
    expect(moved.body.visits).toBe(4)
    expect(await oldRedis.get(id)).not.toContain('visits')
    await ours.store.close()
    old.close()
  })

  it('migrate: the old Redis killed between our write and the marker: the next request finds ours and finishes', async () => {
    const id = randomUUID()
    await oldRedis.set(id, JSON.stringify({ visits: 6 }), 'PX', 600_000)
    const old = interceptedClient('SET', async () => {
      await oldServer.kill('SIGKILL')
    })
    const ours = ourApp(ourServer.port, 'f2:', { from: 'koa-redis', client: old.client })
    const cookie = signedCookie('koa.sess', id)
    const failed = await request(ours.app.callback()).get('/peek').set('Cookie', cookie)
    expect(failed.status).toBe(503)
    expect(await ours.store.count()).toBe(1)
    await oldServer.restart()
    expect(await oldRedis.get(id)).toContain('"visits":6')
    const moved = await request(ours.app.callback()).get('/').set('Cookie', cookie)
    expect(moved.status).toBe(200)
    expect(moved.body.visits).toBe(7)
    expect(await ours.store.count()).toBe(1)
    expect(await oldRedis.get(id)).not.toContain('visits')
    // The cookie the 200 sent is the id the 503 had created.
    const replay = await request(ours.app.callback())
      .get('/peek')
      .set(
        'Cookie',
        `koa.sess=${cookiesOf(moved)['koa.sess']}; koa.sess.sig=${cookiesOf(moved)['koa.sess.sig']}`,
      )
    expect(replay.body.visits).toBe(7)
    await ours.store.close()
    old.close()
  })

  it('migrate: one Redis for both, killed and restarted: a 503 meanwhile, then the session moves', async () => {
    const id = randomUUID()
    await ourRedis.set(`same:${id}`, JSON.stringify({ visits: 2 }), 'PX', 600_000)
    const ours = ourApp(ourServer.port, 'f3:', { from: 'koa-redis', prefix: 'same:' })
    const cookie = signedCookie('koa.sess', id)
    await ourServer.kill('SIGKILL')
    expect((await request(ours.app.callback()).get('/peek').set('Cookie', cookie)).status).toBe(503)
    await ourServer.restart()
    const moved = await request(ours.app.callback()).get('/peek').set('Cookie', cookie)
    expect(moved.body.visits).toBe(2)
    await ours.store.close()
  })
})
