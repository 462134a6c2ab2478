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

/**
 * An ioredis client of the old server that runs `before` once, just before it first sends `command`
 * (a native command or `EVALSHA`, the marker's script, both sent through `call` or `evalsha`).
 */
function interceptedClient(
  command: string,
  before: () => Promise<void>,
): { client: RedisClient; close(): void } {
  const redis = new Redis({ port: oldServer.port, maxRetriesPerRequest: 1 })
  redis.on('error', () => undefined)
  let armed = true
  const client = new Proxy(redis, {
    get(target, name, receiver) {
      const method = Reflect.get(target, name, receiver)
      if (name !== 'call' && name !== 'evalsha')
        return typeof method === 'function' ? method.bind(target) : method
      return async (...args: (string | number)[]) => {
        if (armed && (name.toString().toUpperCase() === command || args[0] === command)) {
          armed = false
          await before()
        }
        return (method as (...a: unknown[]) => Promise<unknown>).apply(target, args)
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
    await oldRedis.set(
      id,
      JSON.stringify({ visits: 6, _expire: Date.now() + 600_000, _maxAge: 600_000 }),
      'PX',
      600_000,
    )
    const old = interceptedClient('EVALSHA', async () => {
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
    await ourRedis.set(
      `same:${id}`,
      JSON.stringify({ visits: 2, _expire: Date.now() + 600_000, _maxAge: 600_000 }),
      'PX',
      600_000,
    )
    const ours = ourApp(ourServer.port, 'f3:', { from: 'koa-redis', prefix: 'same:' })
    const cookie = signedCookie('koa.sess', id)
    await ourServer.kill('SIGKILL')
    expect((await request(ours.app.callback()).get('/peek').set('Cookie', cookie)).status).toBe(503)
    await ourServer.restart()
    const moved = await request(ours.app.callback()).get('/peek').set('Cookie', cookie)
    expect(moved.body.visits).toBe(2)
    await ours.store.close()
  })

  it('migrate: a request that read the old value before another moved it and the user logged out does not bring it back', async () => {
    const id = randomUUID()
    await oldRedis.set(
      id,
      JSON.stringify({
        visits: 1,
        passport: { user: 'eve' },
        _expire: Date.now() + 600_000,
        _maxAge: 600_000,
      }),
      'PX',
      600_000,
    )
    const cookie = signedCookie('koa.sess', id)
    const plain = new Redis({ port: oldServer.port })
    const first = ourApp(ourServer.port, 'f4:', {
      from: 'koa-redis',
      client: plain as unknown as RedisClient,
    })
    // The slow request's GETRANGE has been sent when its PTTL is about to be: the move and the logout happen then.
    const slowClient = interceptedClient('PTTL', async () => {
      const moved = await request(first.app.callback()).get('/peek').set('Cookie', cookie)
      expect(moved.body.user).toBe('eve')
      const out = await request(first.app.callback())
        .post('/logout')
        .set(
          'Cookie',
          `koa.sess=${cookiesOf(moved)['koa.sess']}; koa.sess.sig=${cookiesOf(moved)['koa.sess.sig']}`,
        )
      expect(out.text).toBe('out')
      expect(await first.store.count()).toBe(0)
    })
    const slow = ourApp(ourServer.port, 'f4:', { from: 'koa-redis', client: slowClient.client })
    const late = await request(slow.app.callback()).get('/peek').set('Cookie', cookie)
    expect(late.status).toBe(200)
    expect(late.body).toEqual({ user: null, visits: null })
    expect(await slow.store.count()).toBe(0)
    expect(await slow.store.listSessions('eve')).toEqual([])
    await Promise.all([first.store.close(), slow.store.close()])
    plain.disconnect()
    slowClient.close()
  })
})
