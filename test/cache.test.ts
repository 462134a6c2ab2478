// The session cache (PRODUCT.md §10) against real redis-servers: two stores are two app servers; what one
// changes, the other must stop serving within 50 ms, whatever happens to the connections in between.
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import request from 'supertest'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { hashId, randomId, userTag, withTag } from '../src/id.js'
import { RedisStore } from '../src/store/redis.js'
import type { RedisStoreOptions } from '../src/store/redis-options.js'
import type { LoadResult, StoredFields } from '../src/store/types.js'
import { cookieHeader, makeApp } from './helpers.js'
import { type RedisServer, sendCommand, startRedis } from './redis-servers.js'
import { startProxy } from './tcp-proxy.js'

/** How soon another server must stop serving what one server changed. */
const WINDOW_MS = 50
const HOUR = 3_600_000

const o = () => ({ now: Date.now(), ttl: HOUR, absoluteTimeout: 0 })
const opts = (set: StoredFields = {}, extra = {}) => ({ ...o(), set, del: [] as string[], ...extra })

/** Polls `check` (yielding to I/O between tries) until it holds; throws after `ms`. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(2)
  }
}

/** Loads `id` through `store` until `done(result)`, yielding to I/O between loads; returns the ms since `since`. */
async function seenBy(
  store: RedisStore,
  id: string,
  done: (r: LoadResult) => boolean,
  since = performance.now(),
  limit = 2_000,
): Promise<number> {
  for (;;) {
    const r = await store.load(id, o())
    if (done(r)) return performance.now() - since
    if (performance.now() - since > limit)
      throw new Error(`not seen within ${limit} ms: ${JSON.stringify(r)}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

const dataOf = (r: LoadResult): string | undefined => (r !== null && typeof r === 'object' ? r.v : undefined)
const isGone = (r: LoadResult): boolean => r === null

const on = (store: RedisStore) => until('the cache to be on', () => store.cacheStats()?.status === 'on')

/** Reads `id` through `store` until a read is served from its cache; every read must give `v`. */
async function cached(store: RedisStore, id: string, v: string): Promise<void> {
  await until(`${id} to be served from the cache`, async () => {
    const hits = store.cacheStats()?.hits ?? 0
    expect(dataOf(await store.load(id, o()))).toBe(v)
    return (store.cacheStats()?.hits ?? 0) > hits
  })
}

/** Commands Redis ran since the last CONFIG RESETSTAT, by name, harness commands left out. */
async function commandCalls(port: number): Promise<Record<string, number>> {
  const info = String(await sendCommand(port, ['INFO', 'commandstats']))
  const calls: Record<string, number> = {}
  for (const [, name, n] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (!/^(config|info)\b/.test(name as string)) calls[name as string] = Number(n)
  }
  return calls
}

/** The CLIENT LIST line of each client, by its field `name`. */
async function clients(port: number): Promise<Record<string, string>[]> {
  const list = String(await sendCommand(port, ['CLIENT', 'LIST']))
  return list
    .trim()
    .split('\n')
    .map((line) => Object.fromEntries(line.split(' ').map((kv) => kv.split('=', 2) as [string, string])))
}

/** The CLIENT IDs of a store's data connection (named `name`) and of the subscriber it redirects to. */
async function connectionsOf(port: number, name: string): Promise<{ data: string; subscriber: string }> {
  const data = (await clients(port)).find((c) => c.name === name)
  if (!data?.id || !data.redir || data.redir === '-1') throw new Error(`no tracked connection named ${name}`)
  return { data: data.id, subscriber: data.redir }
}

describe('RedisStore cache (standalone, private server)', () => {
  let server: RedisServer
  let a: RedisStore
  let b: RedisStore
  const stores: RedisStore[] = []
  const open = async (options: RedisStoreOptions = {}): Promise<RedisStore> => {
    const store = new RedisStore({ port: server.port, cache: true, ...options })
    stores.push(store)
    await on(store)
    return store
  }

  beforeAll(async () => {
    server = await startRedis()
    a = await open({ options: { connectionName: 'store-a' } })
    b = await open({ options: { connectionName: 'store-b' } })
  })
  afterAll(async () => {
    for (const store of stores) await store.close()
    await server?.stop()
  })
  afterEach(async () => {
    // Every test leaves both stores tracking again, whatever it did to their connections.
    await on(a)
    await on(b)
  })

  /** A session created through `b`, and read (cached) by both stores. */
  async function shared(set: StoredFields = { v: '1' }, id = randomId(), extra = {}): Promise<string> {
    expect(await b.write(id, { ...opts(set, extra), mode: 'create' })).toBe(true)
    for (const store of [a, b]) {
      // A session is cached from its second read since it last changed (read-through.ts).
      await until('the session to be served from the cache', async () => {
        const hits = store.cacheStats()?.hits ?? 0
        expect(await store.load(id, o())).toMatchObject(set)
        return (store.cacheStats()?.hits ?? 0) > hits
      })
    }
    return id
  }

  /** Waits until `c` serves a freshly written shared session from its cache again (tracking is back). */
  async function cachesAgain(c: RedisStore): Promise<void> {
    await cached(c, await shared(), '1')
  }

  it('RedisStore.load: a change made through another server is seen within 50 ms', async () => {
    const id = await shared()
    await b.write(id, { ...opts({ v: '2' }), mode: 'update' })
    expect(await seenBy(a, id, (r) => dataOf(r) === '2')).toBeLessThan(WINDOW_MS)
  })

  it('RedisStore.load: a logout through another server is seen within 50 ms', async () => {
    const id = await shared()
    expect(await b.remove(id)).toBe(true)
    expect(await seenBy(a, id, isGone)).toBeLessThan(WINDOW_MS)
  })

  it('RedisStore.load: destroyUserSessions and destroySession through another server are seen within 50 ms', async () => {
    const user = `user-${randomId()}`
    const u = hashId(user)
    const ids = [0, 1, 2].map(() => withTag(randomId(), userTag(u)))
    for (const id of ids) await shared({ v: '1', _u: u }, id)
    const [first, ...rest] = ids as [string, ...string[]]

    expect(await b.destroySession(b.handle(first))).toBe(true)
    expect(await seenBy(a, first, isGone)).toBeLessThan(WINDOW_MS)

    const since = performance.now()
    expect(await b.destroyUserSessions(user)).toBe(2)
    for (const id of rest) expect(await seenBy(a, id, isGone, since)).toBeLessThan(WINDOW_MS)
  })

  it('RedisStore.load: an expiry is seen within 50 ms, however late Redis reports it', async () => {
    // Long enough to be cached: a session about to expire is not (read-through.ts, FILL_MARGIN_MS).
    const created = performance.now()
    const id = await shared({ v: '1' }, randomId(), { ttl: 1_500 })
    expect(dataOf(await a.load(id, o()))).toBe('1')
    await until('the TTL to run out', () => performance.now() > created + 1_500, 3_000)
    expect(await seenBy(a, id, isGone, created + 1_500)).toBeLessThan(WINDOW_MS)
  })

  it('RedisStore.load: a FLUSHALL is seen within 50 ms', async () => {
    const id = await shared()
    const since = performance.now()
    await sendCommand(server.port, ['FLUSHALL'])
    expect(await seenBy(a, id, isGone, since)).toBeLessThan(WINDOW_MS)
    expect(a.cacheStats()?.size).toBe(0)
  })

  it("RedisStore.load: a store's own write is read back at once, every time", async () => {
    const id = await shared()
    for (let i = 2; i < 200; i++) {
      expect(await a.write(id, { ...opts({ v: String(i) }), mode: 'update' })).toBe(true)
      expect(dataOf(await a.load(id, o()))).toBe(String(i))
    }
    expect(await a.remove(id)).toBe(true)
    expect(await a.load(id, o())).toBeNull()
  })

  it('RedisStore.load: 1000 unchanged reads of one session cost at most 10 commands', async () => {
    const id = await shared()
    await sendCommand(server.port, ['CONFIG', 'RESETSTAT'])
    for (let i = 0; i < 1000; i++) expect(dataOf(await a.load(id, o()))).toBe('1')
    const calls = await commandCalls(server.port)
    const total = Object.values(calls).reduce((x, y) => x + y, 0)
    expect(total, JSON.stringify(calls)).toBeLessThanOrEqual(10)
  })

  it('RedisStore.load: a touch due on a cached session is sent, and drops the entry', async () => {
    const id = await shared()
    const [key, now] = [a.key(id), Date.now() + HOUR / 10]
    await sendCommand(server.port, ['CONFIG', 'RESETSTAT'])
    // A tenth of the idle timeout later (by the injected clock): the cached `_t` says a touch is due.
    expect(await a.load(id, { ...o(), now })).toMatchObject({ v: '1' })
    await until('the touch', async () => (await commandCalls(server.port)).evalsha === 1)
    expect(await a.load(id, { ...o(), now })).toMatchObject({ _t: String(now) })
    expect(await sendCommand(server.port, ['HGET', key, '_t'])).toBe(String(now))
  })

  it('RedisStore.load: a write refused because the session is gone drops the cached entry', async () => {
    const id = await shared()
    // Deleted behind both stores' backs, as a lost invalidation would leave it: the refused write still drops it.
    await sendCommand(server.port, ['DEL', a.key(id)])
    expect(await a.write(id, { ...opts({ v: '2' }), mode: 'update' })).toBe(false)
    expect(await a.load(id, o())).toBeNull()
  })

  it('RedisStore cache: with `options.lazyConnect`, tracking starts with the first command', async () => {
    const lazy = new RedisStore({ port: server.port, cache: true, options: { lazyConnect: true } })
    stores.push(lazy)
    const id = await shared()
    expect(lazy.cacheStats()?.status).toBe('off')
    expect(dataOf(await lazy.load(id, o()))).toBe('1')
    await on(lazy)
    await until('lazy to serve from its cache', async () => {
      const hits = lazy.cacheStats()?.hits ?? 0
      expect(dataOf(await lazy.load(id, o()))).toBe('1')
      return (lazy.cacheStats()?.hits ?? 0) > hits
    })
  })

  it('RedisStore cache: never holds more than `max` sessions', async () => {
    const small = await open({ cache: { max: 5 } })
    const ids: string[] = []
    for (let i = 0; i < 20; i++) {
      const id = randomId()
      ids.push(id)
      expect(await b.write(id, { ...opts({ v: String(i) }), mode: 'create' })).toBe(true)
      for (const one of ids.slice(-8)) {
        expect(await small.load(one, o())).not.toBeNull()
        expect(small.cacheStats()?.size).toBeLessThanOrEqual(5)
      }
    }
    expect(small.cacheStats()).toMatchObject({ max: 5 })
    expect(small.cacheStats()?.hits).toBeGreaterThan(0)
  })

  /** `a` loses tracking by `kill`; then nothing it cached may be served, and it must come back. */
  async function survives(kill: () => Promise<unknown>): Promise<void> {
    const id = await shared()
    const flushes = a.cacheStats()?.flushes ?? 0
    await kill()
    await until('the cache to leave `on`', () => a.cacheStats()?.status !== 'on', 2_000)
    expect(a.cacheStats()?.size).toBe(0)
    expect(a.cacheStats()?.flushes).toBeGreaterThan(flushes)
    // Changed while `a` cannot hear of it: `a` reads Redis, never its old copy.
    await b.write(id, { ...opts({ v: '2' }), mode: 'update' })
    await until('a to read through', async () => {
      const r = await a.load(id, o()).catch(() => undefined)
      if (r !== undefined) expect(dataOf(r)).toBe('2')
      return r !== undefined
    })
    // Back: it fills again, and hears of changes again.
    await on(a)
    await cached(a, id, '2')
    expect(a.cacheStats()?.size).toBeGreaterThan(0)
    await b.write(id, { ...opts({ v: '3' }), mode: 'update' })
    expect(await seenBy(a, id, (r) => dataOf(r) === '3')).toBeLessThan(WINDOW_MS)
  }

  it('RedisStore cache: CLIENT KILL of the invalidation subscriber empties it until tracking is back', async () => {
    await survives(async () => {
      const { subscriber } = await connectionsOf(server.port, 'store-a')
      await sendCommand(server.port, ['CLIENT', 'KILL', 'ID', subscriber])
    })
  })

  it('RedisStore cache: CLIENT KILL of the data connection empties it until tracking is back', async () => {
    await survives(async () => {
      const { data } = await connectionsOf(server.port, 'store-a')
      await sendCommand(server.port, ['CLIENT', 'KILL', 'ID', data])
    })
  })

  it('RedisStore cache: when Redis drops every connection, nothing cached before is served', async () => {
    await survives(async () => {
      await sendCommand(server.port, ['CLIENT', 'KILL', 'TYPE', 'normal'])
      await sendCommand(server.port, ['CLIENT', 'KILL', 'TYPE', 'pubsub'])
    })
  })

  it('RedisStore cache: after a restart of Redis (data lost), nothing cached before is served', async () => {
    const id = await shared()
    await server.restart()
    await until('a to answer again', async () => {
      const r = await a.load(id, o()).catch(() => undefined)
      if (r !== undefined) expect(r).toBeNull()
      return r !== undefined
    })
    await on(a)
    await on(b)
    expect(await a.load(id, o())).toBeNull()
    const again = await shared()
    await b.write(again, { ...opts({ v: '2' }), mode: 'update' })
    expect(await seenBy(a, again, (r) => dataOf(r) === '2')).toBeLessThan(WINDOW_MS)
  })

  it('RedisStore.load: an invalidation that overtakes the reply of the tracked read it concerns keeps that reply out', async () => {
    // The store's connections go through a proxy that holds the data connection's replies from its tracked
    // read (CLIENT CACHING YES) on, so the invalidation of a change made after that read ran arrives before
    // the read's (older) reply.
    const proxy = await startProxy(server.port)
    const racy = new RedisStore({ port: proxy.port, cache: true })
    try {
      await on(racy)
      const [data] = proxy.connections
      const id = await shared()
      // The first read is plain, and notes the session; the second is answered by a plain read too, and
      // sends the tracked read that fills.
      expect(dataOf(await racy.load(id, o()))).toBe('1')
      await sendCommand(server.port, ['CONFIG', 'RESETSTAT'])
      proxy.holdAfter('CACHING')
      expect(dataOf(await racy.load(id, o()))).toBe('1')
      await until('Redis to run the tracked read', async () => {
        const calls = await commandCalls(server.port)
        return calls['client|caching'] === 1 && calls.pttl === 2
      })
      await until("the tracked read's reply to be held", () => (data?.held ?? 0) > 0)
      const invalidations = racy.cacheStats()?.invalidations ?? 0
      await b.write(id, { ...opts({ v: '2' }), mode: 'update' })
      await until('the invalidation to arrive', () => (racy.cacheStats()?.invalidations ?? 0) > invalidations)
      proxy.holdAfter(undefined)
      data?.release()
      // Answered after the tracked read's reply, on the same connection: by then that reply was handled.
      await racy.count()
      expect(racy.cacheStats()?.size).toBe(0)
      const misses = racy.cacheStats()?.misses ?? 0
      expect(dataOf(await racy.load(id, o()))).toBe('2')
      expect(racy.cacheStats()?.misses).toBe(misses + 1)
    } finally {
      await racy.close()
      await proxy.close()
    }
  })

  it('RedisStore cache: a subscriber that stops answering (half-open) stops serving within the lease, then is replaced', async () => {
    // The subscriber's replies are held in a proxy: its TCP connection stays open, nothing arrives.
    const proxy = await startProxy(server.port)
    const c = new RedisStore({ port: proxy.port, cache: true, timeout: 200 })
    try {
      await on(c)
      const [, subscriber] = proxy.connections
      const id = await shared()
      await until('c to serve it from its cache', async () => {
        const hits = c.cacheStats()?.hits ?? 0
        expect(dataOf(await c.load(id, o()))).toBe('1')
        return (c.cacheStats()?.hits ?? 0) > hits
      })
      subscriber?.hold()
      await b.write(id, { ...opts({ v: '2' }), mode: 'update' })
      const since = performance.now()
      // Its invalidation is held too: `c` may serve the old copy until the lease of the last answered
      // heartbeat runs out (2.5 s after it was sent, heartbeats every second), never longer.
      await until(
        'c to stop serving its old copy',
        async () => {
          const v = dataOf(await c.load(id, o()))
          expect(['1', '2']).toContain(v)
          return v === '2'
        },
        5_000,
      )
      expect(performance.now() - since).toBeLessThan(2_800)
      // The lease stopped it, not a reconnect: that comes after five missed heartbeats.
      expect(proxy.connections).toHaveLength(2)
      await until('a new subscriber', () => proxy.connections.length > 2, 8_000)
      await on(c)
      await until('c to cache again', async () => {
        const hits = c.cacheStats()?.hits ?? 0
        expect(dataOf(await c.load(id, o()))).toBe('2')
        return (c.cacheStats()?.hits ?? 0) > hits
      })
      await b.write(id, { ...opts({ v: '3' }), mode: 'update' })
      expect(await seenBy(c, id, (r) => dataOf(r) === '3')).toBeLessThan(WINDOW_MS)
    } finally {
      await c.close()
      await proxy.close()
    }
  }, 20_000)

  it('RedisStore cache: a data connection that goes half-open and is killed on the server stops serving within the lease, then tracking resumes', async () => {
    // Tracking and its REDIRECT live on the data connection. Frozen in the proxy and ended by Redis, it
    // tracks nothing any more, while the subscriber still answers every heartbeat PING.
    const proxy = await startProxy(server.port)
    const c = new RedisStore({
      port: proxy.port,
      cache: true,
      timeout: 200,
      options: { connectionName: 'frozen' },
    })
    try {
      await on(c)
      const [data] = proxy.connections
      const id = await shared()
      await cached(c, id, '1')
      const { data: dataId } = await connectionsOf(server.port, 'frozen')
      data?.freeze()
      await sendCommand(server.port, ['CLIENT', 'KILL', 'ID', dataId])
      // A logout on another server, which Redis can no longer report to `c`.
      expect(await b.remove(id)).toBe(true)
      const since = performance.now()
      // The lease of the last heartbeat both connections answered may still serve the old copy (2.5 s
      // after it was sent, heartbeats every second), never longer. Reads that reach the frozen
      // connection time out: not the old session either.
      await until(
        'c to stop serving the logged-out session',
        async () => dataOf(await c.load(id, o()).catch(() => null)) === undefined,
        5_000,
      )
      expect(performance.now() - since).toBeLessThan(2_800)
      for (let i = 0; i < 5; i++) expect(dataOf(await c.load(id, o()).catch(() => null))).toBeUndefined()
      // The network heals: the client sees its connection close, reconnects, and tracking is back.
      data?.release()
      await on(c)
      await until('c to read Redis again', async () => (await c.load(id, o()).catch(() => 'error')) === null)
      await cachesAgain(c)
    } finally {
      await c.close()
      await proxy.close()
    }
  }, 20_000)

  it('RedisStore cache: tracking turned off on the data connection behind its back is found by the heartbeat, and turned on again', async () => {
    const proxy = await startProxy(server.port)
    const c = new RedisStore({ port: proxy.port, cache: true, options: { connectionName: 'untracked' } })
    try {
      await on(c)
      const [data] = proxy.connections
      const id = await shared()
      await cached(c, id, '1')
      const flushes = c.cacheStats()?.flushes ?? 0
      // Both connections stay up and answer; only the data connection's tracking is gone.
      data?.inject('*3\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$3\r\nOFF\r\n', '+OK\r\n')
      await until('tracking to be off', async () => {
        return (
          (await clients(server.port)).find((x) => x.name === 'untracked')?.flags?.includes('t') === false
        )
      })
      await b.write(id, { ...opts({ v: '2' }), mode: 'update' })
      const since = performance.now()
      // Unreported: the old copy may be served until the next heartbeat's check (within a second).
      await until(
        'c to see the change',
        async () => {
          const v = dataOf(await c.load(id, o()))
          expect(['1', '2']).toContain(v)
          return v === '2'
        },
        5_000,
      )
      expect(performance.now() - since).toBeLessThan(1_500)
      expect(c.cacheStats()?.flushes).toBeGreaterThan(flushes)
      await on(c)
      await cached(c, id, '2')
      await b.write(id, { ...opts({ v: '3' }), mode: 'update' })
      expect(await seenBy(c, id, (r) => dataOf(r) === '3')).toBeLessThan(WINDOW_MS)
    } finally {
      await c.close()
      await proxy.close()
    }
  }, 20_000)

  it('RedisStore.load: a tracked read refused because tracking is off fills nothing', async () => {
    const proxy = await startProxy(server.port)
    const c = new RedisStore({ port: proxy.port, cache: true })
    try {
      await on(c)
      const [data] = proxy.connections
      const id = randomId()
      expect(await b.write(id, { ...opts({ v: '1' }), mode: 'create' })).toBe(true)
      // Tracking goes off behind the store's back, before the heartbeat can tell: CLIENT CACHING is refused.
      data?.inject('*3\r\n$6\r\nCLIENT\r\n$8\r\nTRACKING\r\n$3\r\nOFF\r\n', '+OK\r\n')
      await sendCommand(server.port, ['CONFIG', 'RESETSTAT'])
      for (let i = 0; i < 2; i++) expect(dataOf(await c.load(id, o()))).toBe('1')
      // Answered after the tracked read's reply, on the same connection.
      await c.count()
      const info = String(await sendCommand(server.port, ['INFO', 'commandstats']))
      expect(info).toMatch(/^cmdstat_client\|caching:calls=1,.*failed_calls=1/m)
      expect(c.cacheStats()?.size).toBe(0)
    } finally {
      await c.close()
      await proxy.close()
    }
  })

  it('RedisStore.ready: with a cache, resolves once the cache is on (lazy connection included)', async () => {
    for (const options of [{}, { lazyConnect: true }]) {
      const fresh = new RedisStore({ port: server.port, cache: true, options })
      stores.push(fresh)
      await fresh.ready()
      expect(fresh.cacheStats()?.status).toBe('on')
      await fresh.ready()
    }
  })

  it('RedisStore.ready: with a cache that cannot be turned on, resolves all the same, the cache not on', async () => {
    // Enabling is stuck: the data connection's replies are held from its CLIENT TRACKING on.
    const proxy = await startProxy(server.port)
    proxy.holdAfter('TRACKING')
    const c = new RedisStore({ port: proxy.port, cache: true, timeout: 200 })
    try {
      await c.ready()
      expect(c.cacheStats()?.status).not.toBe('on')
      proxy.holdAfter(undefined)
      proxy.connections[0]?.release()
      await on(c)
      await cachesAgain(c)
    } finally {
      await c.close()
      await proxy.close()
    }
  })

  it('RedisStore cache: enabling tracking that times out is retried until it succeeds', async () => {
    const proxy = await startProxy(server.port)
    const c = new RedisStore({
      port: proxy.port,
      cache: true,
      timeout: 200,
      options: { connectionName: 'c' },
    })
    try {
      await on(c)
      const [data] = proxy.connections
      await sendCommand(server.port, ['CONFIG', 'RESETSTAT'])
      // The data connection stops answering; the subscriber is killed: enabling again cannot finish.
      data?.hold()
      const { subscriber } = await connectionsOf(server.port, 'c')
      await sendCommand(server.port, ['CLIENT', 'KILL', 'ID', subscriber])
      await until('c to leave `on`', () => c.cacheStats()?.status !== 'on', 2_000)
      await until('CLIENT TRACKING to be sent again', async () => {
        return ((await commandCalls(server.port))['client|tracking'] ?? 0) >= 1
      })
      const sent = performance.now()
      await until('the attempt to time out', () => performance.now() - sent > 300)
      expect(c.cacheStats()?.status).not.toBe('on')
      data?.release()
      await on(c)
      await cachesAgain(c)
    } finally {
      await c.close()
      await proxy.close()
    }
  })

  it('RedisStore cache: a SUBSCRIBE answered after its timeout does not keep tracking off', async () => {
    const proxy = await startProxy(server.port)
    const c = new RedisStore({
      port: proxy.port,
      cache: true,
      timeout: 200,
      options: { connectionName: 'c2' },
    })
    try {
      await on(c)
      // The next subscriber's SUBSCRIBE is answered only once it has timed out, before the retry.
      proxy.holdAfter('__redis__:invalidate')
      const { subscriber } = await connectionsOf(server.port, 'c2')
      await sendCommand(server.port, ['CLIENT', 'KILL', 'ID', subscriber])
      await until('the new subscriber to send SUBSCRIBE', () => (proxy.connections[2]?.held ?? 0) > 0)
      const sent = performance.now()
      await until('the SUBSCRIBE to time out', () => performance.now() - sent > 250)
      proxy.holdAfter(undefined)
      proxy.connections[2]?.release()
      await on(c)
      await cachesAgain(c)
    } finally {
      await c.close()
      await proxy.close()
    }
  })

  it('session({ store: { cache } }): a logout on one app server ends the session on the other within 50 ms', async () => {
    const handler = async (ctx: import('koa').Context) => {
      if (ctx.path === '/logout') ctx.session = null
      else if (ctx.path === '/login') (ctx.session as Record<string, unknown>).user = 'ada'
      ctx.body = { user: (ctx.session as Record<string, unknown> | null)?.user ?? null }
    }
    const store = { port: server.port, cache: true, keySchema: 'apps:' }
    const one = makeApp({ store }, handler)
    const two = makeApp({ store }, handler)
    const login = await request(one.callback()).get('/login')
    const cookie = cookieHeader(login)
    for (const app of [one, two]) {
      await until('the app to read the session', async () => {
        return (await request(app.callback()).get('/').set('Cookie', cookie)).body.user === 'ada'
      })
    }
    await request(one.callback()).get('/logout').set('Cookie', cookie).expect(200)
    const since = performance.now()
    await until('two to see the logout', async () => {
      return (await request(two.callback()).get('/').set('Cookie', cookie)).body.user === null
    })
    expect(performance.now() - since).toBeLessThan(WINDOW_MS)
  })
})

describe('RedisStore cache: a subscriber on another server', () => {
  it('RedisStore cache: never turns on when its subscriber is not on the data connection’s server', async () => {
    // As a failover can leave them: the same CLIENT ID then names some other client of the data's server.
    const [one, two] = await Promise.all([startRedis(), startRedis()])
    const others = Array.from({ length: 30 }, () => new Redis({ port: one.port }))
    const proxy = await startProxy((i) => (i === 0 ? one.port : two.port))
    const c = new RedisStore({ port: proxy.port, cache: true, timeout: 200 })
    try {
      await Promise.all(others.map((r) => r.ping()))
      await until('tracking to be turned on and checked', async () => {
        const info = String(await sendCommand(one.port, ['INFO', 'commandstats']))
        return /cmdstat_client\|list:calls=[1-9]/.test(info)
      })
      // The REDIRECT itself was accepted (the id exists on `one`): only the check keeps the cache off.
      const info = String(await sendCommand(one.port, ['INFO', 'commandstats']))
      expect(info).toMatch(/cmdstat_client\|tracking:calls=\d+,[^\n]*failed_calls=0/)
      expect(c.cacheStats()?.status).not.toBe('on')
      const since = performance.now()
      await until('a retry', () => performance.now() - since > 700)
      expect(c.cacheStats()?.status).not.toBe('on')
    } finally {
      await c.close()
      await proxy.close()
      for (const r of others) r.disconnect()
      await Promise.all([one.stop(), two.stop()])
    }
  })
})

describe('RedisStore cache: options', () => {
  it('RedisStore: refuses `cache` with a passed-in client, naming the reason', () => {
    const client = new Redis({ lazyConnect: true, port: 1 })
    expect(() => new RedisStore({ client, cache: true })).toThrow(
      /`store.cache` cannot be used with `store.client`: the store must create its own connections/,
    )
    client.disconnect()
  })

  it.each([0, -1, 1.5, '10', Number.POSITIVE_INFINITY, null])('RedisStore: refuses cache.max %s', (max) => {
    expect(() => new RedisStore({ port: 1, cache: { max: max as number } })).toThrow(
      /`store.cache.max` must be a positive integer \(a number of sessions\), received/,
    )
  })

  it('RedisStore: refuses a cache that is not true, false or { max }, and unknown cache options', () => {
    expect(() => new RedisStore({ port: 1, cache: 'yes' as unknown as boolean })).toThrow(
      '`store.cache` must be true, false or { max }, received "yes"',
    )
    expect(() => new RedisStore({ port: 1, cache: { size: 5 } as unknown as { max: number } })).toThrow(
      '`store.cache.size` is not an option of the cache (only `max` is), received 5',
    )
  })

  it('RedisStore: refuses `cache` with an ioredis keyPrefix (invalidations name prefixed keys)', () => {
    expect(() => new RedisStore({ port: 1, cache: true, options: { keyPrefix: 'app:' } })).toThrow(
      /`store.options.keyPrefix` cannot be used with `store.cache`/,
    )
  })

  it('session(): the same checks apply to `store: { cache }`, at session(...)', () => {
    const client = new Redis({ lazyConnect: true, port: 1 })
    expect(() => makeApp({ store: { client, cache: true } }, () => undefined)).toThrow(/`store.cache`/)
    expect(() => makeApp({ store: { port: 1, cache: { max: 0 } } }, () => undefined)).toThrow(
      /`store.cache.max`/,
    )
    client.disconnect()
  })

  it('RedisStore: without `cache` (or with `cache: false`) there is no cache', async () => {
    for (const cache of [undefined, false]) {
      const store = new RedisStore({
        port: 1,
        options: { lazyConnect: true },
        ...(cache === undefined ? {} : { cache }),
      })
      expect(store.cacheStats()).toBeUndefined()
      await store.close().catch(() => undefined)
    }
  })
})
