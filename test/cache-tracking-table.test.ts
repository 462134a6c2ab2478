// The session cache costs Redis no memory that grows with traffic (PRODUCT.md §10): against a private
// redis-server, Redis's tracking table (`INFO stats` → tracking_total_keys) holds only keys that hold
// sessions, whatever anonymous visitors, unknown, expired or forged ids a store with a cache reads.
import { createHmac } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { guestId, hashId, randomId, userTag, withTag } from '../src/id.js'
import { RedisStore } from '../src/store/redis.js'
import type { LoadResult } from '../src/store/types.js'
import { cookiesOf, makeApp, trackedKeys } from './helpers.js'
import { type RedisServer, sendCommand, startRedis } from './redis-servers.js'

const HOUR = 3_600_000
const o = (now = Date.now()) => ({ now, ttl: HOUR, absoluteTimeout: 0 })
const dataOf = (r: LoadResult): string | undefined => (r !== null && typeof r === 'object' ? r.v : undefined)

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(2)
  }
}

/** The signed cookie pair an attacker who can sign (a leaked key, a signing oracle) would send for `id`. */
function forgedCookie(id: string): string {
  // Keygrip, as Koa signs: HMAC-SHA1 of `name=value` with app.keys[0], base64url without padding.
  const sig = createHmac('sha1', 'key-one').update(`koa.sess=${id}`).digest('base64url')
  return `koa.sess=${id}; koa.sess.sig=${sig}`
}

describe('RedisStore cache: the tracking table holds only keys that hold sessions', () => {
  let server: RedisServer
  /** The store with a cache under test, and a second server that writes (without a cache). */
  let a: RedisStore
  let b: RedisStore

  beforeAll(async () => {
    server = await startRedis()
    a = new RedisStore({ port: server.port, cache: true })
    b = new RedisStore({ port: server.port })
    await until('the cache to be on', () => a.cacheStats()?.status === 'on')
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    await server?.stop()
  })

  /** Reads `id` through `a` until a read is served from its cache. */
  async function cached(id: string): Promise<void> {
    await until('the session to be served from the cache', async () => {
      const hits = a.cacheStats()?.hits ?? 0
      expect(dataOf(await a.load(id, o()))).toBe('1')
      return (a.cacheStats()?.hits ?? 0) > hits
    })
  }

  it('an anonymous visitor making 1,000 page views, following each Set-Cookie, leaves no entry', async () => {
    const app = makeApp({ store: a }, (ctx) => {
      ctx.body = { isNew: ctx.session?.isNew }
    })
    const before = await trackedKeys(server.port)
    const misses = a.cacheStats()?.misses ?? 0
    let cookie = ''
    for (let view = 0; view < 1000; view++) {
      const res = await request(app.callback()).get('/').set('Cookie', cookie)
      expect(res.body).toEqual({ isNew: true })
      const c = cookiesOf(res)
      // Nothing stored, so each view reads the id the last one gave, finds nothing and issues another.
      cookie = `koa.sess=${c['koa.sess']}; koa.sess.sig=${c['koa.sess.sig']}`
    }
    // The reads went through the cache's read path (1 cookie-less first view reads nothing).
    expect((a.cacheStats()?.misses ?? 0) - misses).toBe(999)
    expect(a.cacheStats()?.status).toBe('on')
    expect(await trackedKeys(server.port)).toBe(before)
    expect(await b.count()).toBe(0)
  })

  it('hundreds of unknown ids, each read twice, and forged signed ids over HTTP, leave no entry', async () => {
    const before = await trackedKeys(server.port)
    for (let i = 0; i < 300; i++) {
      const id = guestId()
      expect(await a.load(id, o())).toBeNull()
      expect(await a.load(id, o())).toBeNull()
    }
    const app = makeApp({ store: a }, (ctx) => {
      ctx.body = { isNew: ctx.session?.isNew }
    })
    // Ids of the attacker's choosing, one claiming the slot tag of an admin's sessions.
    const forged = [
      withTag(`${'A'.repeat(40)}xxx`, userTag(hashId('admin'))),
      ...Array.from({ length: 200 }, () => randomId()),
    ]
    for (const id of forged) {
      for (let i = 0; i < 2; i++) {
        const res = await request(app.callback()).get('/').set('Cookie', forgedCookie(id))
        expect(res.body).toEqual({ isNew: true })
        expect(cookiesOf(res)['koa.sess']).not.toBe(id)
      }
    }
    expect(a.cacheStats()?.status).toBe('on')
    expect(await trackedKeys(server.port)).toBe(before)
  })

  it('a session read (and cached) is tracked; once logged out, replays of its id leave no entry', async () => {
    const before = await trackedKeys(server.port)
    const id = randomId()
    expect(await b.write(id, { ...o(), mode: 'create', set: { v: '1' }, del: [] })).toBe(true)
    await cached(id)
    expect(await trackedKeys(server.port)).toBe(before + 1)
    // The logout on the other server reaches `a` (its tracking entry goes with the report).
    expect(await b.remove(id)).toBe(true)
    await until('a to see the logout', async () => (await a.load(id, o())) === null)
    expect(await trackedKeys(server.port)).toBe(before)
    for (let i = 0; i < 50; i++) expect(await a.load(id, o())).toBeNull()
    expect(await trackedKeys(server.port)).toBe(before)
  })

  it('a session that expired (in Redis, or by the clock) leaves no entry when its id comes back', async () => {
    const before = await trackedKeys(server.port)
    const [gone, late] = [randomId(), randomId()]
    for (const id of [gone, late]) {
      expect(await b.write(id, { ...o(), mode: 'create', set: { v: '1' }, del: [] })).toBe(true)
      await cached(id)
    }
    expect(await trackedKeys(server.port)).toBe(before + 2)
    // Expired by Redis: its TTL cut to 1 ms (the change is reported, the entry goes).
    await sendCommand(server.port, ['PEXPIRE', a.key(gone), '1'])
    await until(
      'Redis to expire it',
      async () => (await sendCommand(server.port, ['EXISTS', a.key(gone)])) === 0,
    )
    for (let i = 0; i < 20; i++) expect(await a.load(gone, o())).toBeNull()
    // Expired by the clock: a read a day later finds its absolute lifetime over, and removes it.
    const tomorrow = { now: Date.now() + 24 * HOUR, ttl: HOUR, absoluteTimeout: HOUR }
    expect(await a.load(late, tomorrow)).toBe('expired')
    for (let i = 0; i < 20; i++) expect(await a.load(late, tomorrow)).toBeNull()
    expect(await trackedKeys(server.port)).toBe(before)
  })

  it('a session changed on every request is never tracked, and costs no more than without a cache', async () => {
    const before = await trackedKeys(server.port)
    const id = randomId()
    expect(await a.write(id, { ...o(), mode: 'create', set: { v: '0' }, del: [] })).toBe(true)
    await sendCommand(server.port, ['CONFIG', 'RESETSTAT'])
    for (let i = 1; i <= 100; i++) {
      expect(dataOf(await a.load(id, o()))).toBe(String(i - 1))
      expect(await a.write(id, { ...o(), mode: 'update', set: { v: String(i) }, del: [] })).toBe(true)
    }
    const stats = String(await sendCommand(server.port, ['INFO', 'commandstats']))
    expect(stats).toMatch(/^cmdstat_hgetall:calls=100,/m)
    expect(stats).not.toMatch(/^cmdstat_(pttl|client\|caching):/m)
    expect(await trackedKeys(server.port)).toBe(before)
  })

  it('a logout elsewhere that lands between the plain read and the tracked read leaves no entry (500 races)', async () => {
    const before = await trackedKeys(server.port)
    let raced = 0
    for (let i = 0; i < 500; i++) {
      const id = guestId()
      expect(await b.write(id, { ...o(), mode: 'create', set: { v: '1' }, del: [] })).toBe(true)
      // The first read notes the session; the second sends the tracked read in the background, which
      // the logout, sent at once, may or may not overtake.
      await a.load(id, o())
      const [read] = await Promise.all([a.load(id, o()), b.remove(id)])
      if (read === null) raced++
    }
    // Each tracked read that found the key gone is followed by a write-and-delete that ends its entry.
    await until('every stray entry to be ended', async () => (await trackedKeys(server.port)) === before)
    expect(await trackedKeys(server.port)).toBe(before)
    expect(raced).toBeLessThan(500)
  })
})
