// The store suite (store-suite.ts) against MemoryStore and RedisStore on every client and topology we support.
import { Cluster, Redis } from 'ioredis'
import { Redis as RedisV5 } from 'ioredis-v5'
import { Redis as Valkey } from 'iovalkey'
import { createClient, createCluster } from 'redis'
import { createClient as createClientV4 } from 'redis-v4'
import { createClient as createClientV6 } from 'redis-v6'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { guestId, randomId } from '../src/id.js'
import type { CacheStats } from '../src/store/cache.js'
import type { RedisClient } from '../src/store/client.js'
import { MemoryStore } from '../src/store/memory.js'
import { RedisStore } from '../src/store/redis.js'
import {
  type RedisCluster,
  type RedisSentinelSet,
  type RedisServer,
  sendCommand,
  startCluster,
  startRedis,
  startSentinel,
} from './redis-servers.js'
import { storeSuite } from './store-suite.js'

type Raw = (args: string[]) => Promise<unknown>

const port = inject('redisPort')
const url = inject('redisUrl')
// Key schemas of this file only: other files share the standalone server, and `clear()` is under test.
const schema = (label: string): string => `st${process.pid}:${label}:`

/** Deletes the keys of `keySchema` through `raw`, without relying on the store under test. */
async function dropKeys(raw: Raw, keySchema: string): Promise<void> {
  for (const key of (await raw(['KEYS', `${keySchema}*`])) as string[]) await raw(['UNLINK', key])
}

/** Raw commands on the shared standalone server, over the harness's own connection. */
const standaloneRaw: Raw = (args) => sendCommand(port, args)

/** Raw commands on a Cluster: `KEYS` asks every master, anything else goes to the node of its first key. */
function clusterRaw(cluster: Cluster): Raw {
  return async ([command, ...args]) => {
    if (command === 'KEYS') {
      const replies = await Promise.all(cluster.nodes('master').map((n) => n.call('KEYS', ...args)))
      return (replies as string[][]).flat()
    }
    return cluster.call(command as string, ...args)
  }
}

async function ready(client: Redis | Cluster): Promise<void> {
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve))
}

function ignoreErrors(client: { on(event: 'error', listener: (err: Error) => void): unknown }): void {
  client.on('error', () => {})
}

/** Waits until a store's session cache (`cache: true`) tracks and serves, so the suite runs through it. */
async function cacheOn(store: RedisStore): Promise<RedisStore> {
  const deadline = Date.now() + 10_000
  while (store.cacheStats()?.status !== 'on') {
    if (Date.now() > deadline) throw new Error('the session cache did not come on within 10 s')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return store
}

/**
 * After a suite on a cached store: reads were served from the cache, and it was still on at the end.
 * `stats` is what the suite's clean-up read just before closing the store.
 */
function expectCacheServed(stats: () => CacheStats | undefined): void {
  it('RedisStore (cache): the suite was served from the session cache too', () => {
    expect(stats()).toMatchObject({ status: 'on' })
    expect(stats()?.hits).toBeGreaterThan(0)
  })
}

/** A passed-in client must survive `store.close()`: the app owns it. */
async function expectClientOutlivesStore(client: RedisClient, ping: () => Promise<unknown>): Promise<void> {
  const store = new RedisStore({ client, keySchema: schema('closing') })
  expect(await store.load(randomId(), { now: Date.now(), ttl: 1000, absoluteTimeout: 0 })).toBeNull()
  await store.close()
  expect(await ping()).toBe('PONG')
}

/** A store must re-send a script the server forgot (restart, failover, SCRIPT FLUSH): EVALSHA's NOSCRIPT. */
async function expectScriptsResent(store: RedisStore, flush: () => Promise<unknown>): Promise<void> {
  const o = { now: Date.now(), ttl: 10_000, absoluteTimeout: 0, del: [] }
  const id = randomId()
  expect(await store.write(id, { ...o, mode: 'create', set: { a: '1' } })).toBe(true)
  await flush()
  expect(await store.load(id, o)).toMatchObject({ a: '1' })
  await flush()
  expect(await store.write(id, { ...o, mode: 'update', set: { b: '2' } })).toBe(true)
  await flush()
  await store.remove(id)
  expect(await store.load(id, o)).toBeNull()
}

// --- in process ------------------------------------------------------------------------------------------

storeSuite('MemoryStore', async () => {
  const store = new MemoryStore()
  return { store, cleanup: () => store.close() }
})

// --- standalone ------------------------------------------------------------------------------------------

/** A store on a client the test owns, under its own keySchema; cleanup drops its keys, then closes both. */
function onClient(name: string, client: RedisClient, raw: Raw, close: () => Promise<unknown>) {
  const keySchema = schema(name)
  const store = new RedisStore({ client, keySchema })
  return {
    store,
    raw,
    cleanup: async () => {
      await dropKeys(raw, keySchema)
      await store.close()
      await close()
    },
  }
}

// ioredis (6, the default, and 5) and its fork iovalkey share an API: one suite each, built the same way.
type IoredisFamily = RedisClient & {
  call(command: string, ...args: string[]): Promise<unknown>
  quit(): Promise<unknown>
}
const ioredisFamily: [string, () => IoredisFamily][] = [
  ['ioredis 6', () => new Redis({ port })],
  ['ioredis 5', () => new RedisV5({ port })],
  ['iovalkey', () => new Valkey({ port })],
]
for (const [name, make] of ioredisFamily) {
  storeSuite(`RedisStore (${name}, standalone)`, async () => {
    const client = make()
    return onClient(
      name,
      client,
      (args) => client.call(args[0] as string, ...args.slice(1)),
      () => client.quit(),
    )
  })
}

// node-redis 4, 5 and 6: 6 speaks RESP3 by default (HGETALL as a map).
const nodeRedis: [string, () => ReturnType<typeof createClient>][] = [
  ['node-redis 6', () => createClientV6({ url }) as unknown as ReturnType<typeof createClient>],
  ['node-redis 5', () => createClient({ url })],
  ['node-redis 4', () => createClientV4({ url }) as unknown as ReturnType<typeof createClient>],
]
for (const [name, make] of nodeRedis) {
  storeSuite(`RedisStore (${name}, standalone)`, async () => {
    const client = make()
    ignoreErrors(client)
    await client.connect()
    return onClient(
      name,
      client,
      (args) => client.sendCommand(args),
      async () => (client as unknown as { disconnect(): Promise<void> }).disconnect(),
    )
  })
}

storeSuite('RedisStore (own client from { host, port })', async () => {
  const keySchema = schema('owned')
  const store = new RedisStore({ host: '127.0.0.1', port, keySchema })
  return {
    store,
    raw: standaloneRaw,
    cleanup: async () => {
      await dropKeys(standaloneRaw, keySchema)
      await store.close()
    },
  }
})

// The same contract with the session cache on: every read that can be served from it is.
describe('RedisStore (cache, standalone)', () => {
  let stats: CacheStats | undefined
  storeSuite('RedisStore (cache, own client from { host, port })', async () => {
    const keySchema = schema('cached')
    const store = await cacheOn(new RedisStore({ host: '127.0.0.1', port, keySchema, cache: true }))
    return {
      store,
      raw: standaloneRaw,
      cleanup: async () => {
        stats = store.cacheStats()
        await dropKeys(standaloneRaw, keySchema)
        await store.close()
      },
    }
  })
  expectCacheServed(() => stats)
})

describe('RedisStore (standalone): NOSCRIPT', () => {
  // A server of its own: flushing the scripts of the shared one would disturb the other test files.
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis()
  })
  afterAll(async () => {
    await server?.stop()
  })
  const flush = () => sendCommand(server.port, ['SCRIPT', 'FLUSH'])

  it('RedisStore.load: ioredis re-sends a script the server forgot', async () => {
    const client = new Redis({ port: server.port })
    await expectScriptsResent(new RedisStore({ client }), flush)
    await client.quit()
  })

  it('RedisStore.load: iovalkey re-sends a script the server forgot', async () => {
    const client = new Valkey({ port: server.port })
    await expectScriptsResent(new RedisStore({ client }), flush)
    await client.quit()
  })

  it('RedisStore.load: node-redis re-sends a script the server forgot', async () => {
    const client = createClient({ url: server.url })
    ignoreErrors(client)
    await client.connect()
    await expectScriptsResent(new RedisStore({ client }), flush)
    client.destroy()
  })
})

describe('RedisStore (standalone): options and client ownership', () => {
  const now = () => ({ now: Date.now(), ttl: 10_000, absoluteTimeout: 0 })

  it('RedisStore: refuses a client with an ioredis keyPrefix (index keys are built from keySchema)', async () => {
    const client = new Redis({ port, keyPrefix: 'app:', lazyConnect: true })
    expect(() => new RedisStore({ client })).toThrow(/`store.client` must not use ioredis `keyPrefix`/)
    client.disconnect()
  })

  it('RedisStore.close: quits the client it created from { url }', async () => {
    const keySchema = schema('url')
    const store = new RedisStore({ url, keySchema })
    const id = randomId()
    expect(await store.write(id, { ...now(), mode: 'create', set: { a: '1' }, del: [] })).toBe(true)
    expect(await store.load(id, now())).toMatchObject({ a: '1' })
    await store.remove(id)
    await store.close()
    await expect(store.load(id, now())).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    await dropKeys(standaloneRaw, keySchema)
  })

  it('RedisStore.close: quits the client it created from { host, port }; closing twice is a no-op', async () => {
    const store = new RedisStore({ host: '127.0.0.1', port, keySchema: schema('hostport') })
    expect(await store.count()).toBe(0)
    await store.close()
    await expect(store.count()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' })
    await expect(store.close()).resolves.toBeUndefined()
  })

  it('RedisStore.count: a key schema with glob characters matches only itself', async () => {
    const o = { now: Date.now(), ttl: 10_000, absoluteTimeout: 0, del: [] }
    const globby = new RedisStore({ port, keySchema: schema('g?*[a]') })
    // Would match `g?*[a]:{*` if the schema were not escaped in the SCAN pattern.
    const plain = new RedisStore({ port, keySchema: schema('gx-a') })
    try {
      expect(await globby.write(randomId(), { ...o, mode: 'create', set: { a: '1' } })).toBe(true)
      expect(await plain.write(randomId(), { ...o, mode: 'create', set: { a: '1' } })).toBe(true)
      expect(await globby.count()).toBe(1)
      await globby.clear()
      expect(await globby.count()).toBe(0)
      expect(await plain.count()).toBe(1)
      await plain.clear()
    } finally {
      await globby.close()
      await plain.close()
    }
  })

  it('RedisStore.close: leaves a passed-in ioredis client open', async () => {
    const client = new Redis({ port })
    await expectClientOutlivesStore(client, () => client.ping())
    await client.quit()
  })

  it('RedisStore.close: leaves a passed-in iovalkey client open', async () => {
    const client = new Valkey({ port })
    await expectClientOutlivesStore(client, () => client.ping())
    await client.quit()
  })

  it('RedisStore.close: leaves a passed-in node-redis client open', async () => {
    const client = createClient({ url })
    ignoreErrors(client)
    await client.connect()
    await expectClientOutlivesStore(client, () => client.ping())
    client.destroy()
  })
})

// --- Cluster ---------------------------------------------------------------------------------------------

describe('Redis Cluster (3 masters)', () => {
  let cluster: RedisCluster
  let admin: Cluster
  let raw: Raw

  beforeAll(async () => {
    cluster = await startCluster()
    admin = new Cluster(cluster.startupNodes)
    ignoreErrors(admin)
    await ready(admin)
    raw = clusterRaw(admin)
  })
  afterAll(async () => {
    await admin?.quit()
    await cluster?.stop()
  })

  const flushAll = () => Promise.all(cluster.nodes.map((n) => sendCommand(n.port, ['SCRIPT', 'FLUSH'])))

  /** Sessions on every master: `count`/`clear` must SCAN them all and never send a cross-slot command. */
  async function spansMasters(store: RedisStore): Promise<void> {
    await store.clear()
    // 32 guest ids: their tags walk the slots evenly, so they fall on every master.
    const ids = Array.from({ length: 32 }, () => guestId())
    const o = { now: Date.now(), ttl: 60_000, absoluteTimeout: 0, del: [] }
    for (const id of ids) expect(await store.write(id, { ...o, mode: 'create', set: { a: '1' } })).toBe(true)
    const perMaster = await Promise.all(
      cluster.nodes
        .slice(0, 3)
        .map(async (n) => ((await sendCommand(n.port, ['KEYS', `${store.keySchema}*`])) as string[]).length),
    )
    expect(perMaster.every((n) => n > 0)).toBe(true)
    expect(perMaster.reduce((a, b) => a + b)).toBe(32)
    expect(await store.count()).toBe(32)
    await store.clear()
    expect(await store.count()).toBe(0)
    expect(await raw(['KEYS', `${store.keySchema}*`])).toEqual([])
  }

  describe('own Cluster client with the session cache', () => {
    let stats: CacheStats | undefined
    storeSuite('RedisStore (cache, own Cluster client)', async () => {
      const keySchema = schema('cached-cluster')
      const store = await cacheOn(new RedisStore({ cluster: cluster.startupNodes, keySchema, cache: true }))
      return {
        store,
        raw,
        cleanup: async () => {
          stats = store.cacheStats()
          await dropKeys(raw, keySchema)
          await store.close()
        },
      }
    })
    expectCacheServed(() => stats)
  })

  it('RedisStore: creates and closes its own Cluster client from { cluster }', async () => {
    const own = new RedisStore({ cluster: cluster.startupNodes, keySchema: schema('own-cluster') })
    await spansMasters(own)
    await own.close()
  })

  describe('ioredis Cluster', () => {
    let client: Cluster
    let store: RedisStore
    beforeAll(async () => {
      client = new Cluster(cluster.startupNodes)
      ignoreErrors(client)
      await ready(client)
      store = new RedisStore({ client, keySchema: schema('io-cluster') })
    })
    afterAll(async () => {
      await store?.close()
      await client?.quit()
    })

    storeSuite('RedisStore (ioredis Cluster)', async () => ({
      store,
      raw,
      cleanup: () => dropKeys(raw, store.keySchema),
    }))

    it('RedisStore.count: sees the keys of all 3 masters; clear deletes them all', async () => {
      await spansMasters(store)
    })

    it('RedisStore.count: works on a Cluster client that has not connected yet', async () => {
      const keySchema = schema('io-cluster-fresh')
      const o = { now: Date.now(), ttl: 60_000, absoluteTimeout: 0, del: [] }
      const writer = new RedisStore({ client, keySchema })
      expect(await writer.write(randomId(), { ...o, mode: 'create', set: { a: '1' } })).toBe(true)
      // Right after construction ioredis knows no nodes yet: count must not read that as "no keys".
      const fresh = new Cluster(cluster.startupNodes)
      ignoreErrors(fresh)
      const s = new RedisStore({ client: fresh, keySchema })
      try {
        expect(await s.count()).toBe(1)
        await s.clear()
        expect(await writer.count()).toBe(0)
      } finally {
        await fresh.quit()
      }
    })

    it('RedisStore.load: re-sends a script a master forgot', async () => {
      await expectScriptsResent(store, flushAll)
    })

    it('RedisStore.close: leaves a passed-in ioredis Cluster open', async () => {
      await expectClientOutlivesStore(client, () => client.ping())
    })
  })

  describe('node-redis cluster', () => {
    let client: ReturnType<typeof createCluster>
    let store: RedisStore
    beforeAll(async () => {
      client = createCluster({
        rootNodes: cluster.startupNodes.map((n) => ({ url: `redis://${n.host}:${n.port}` })),
      })
      ignoreErrors(client)
      await client.connect()
      store = new RedisStore({ client, keySchema: schema('node-cluster') })
    })
    afterAll(async () => {
      await store?.close()
      client?.destroy()
    })

    storeSuite('RedisStore (node-redis cluster)', async () => ({
      store,
      raw,
      cleanup: () => dropKeys(raw, store.keySchema),
    }))

    it('RedisStore.count: sees the keys of all 3 masters; clear deletes them all', async () => {
      await spansMasters(store)
    })

    it('RedisStore.load: re-sends a script a master forgot', async () => {
      await expectScriptsResent(store, flushAll)
    })

    it('RedisStore.close: leaves a passed-in node-redis cluster open', async () => {
      await expectClientOutlivesStore(client, () => client.sendCommand(undefined, true, ['PING']))
    })
  })
})

// --- Sentinel --------------------------------------------------------------------------------------------

describe('Redis Sentinel', () => {
  let set: RedisSentinelSet
  let client: Redis
  let store: RedisStore

  beforeAll(async () => {
    set = await startSentinel()
    client = new Redis({ sentinels: set.sentinelNodes, name: set.name })
    ignoreErrors(client)
    await ready(client)
    store = new RedisStore({ client, keySchema: schema('sentinel') })
  })
  afterAll(async () => {
    await store?.close()
    await client?.quit()
    await set?.stop()
  })

  storeSuite('RedisStore (ioredis Sentinel)', async () => ({
    store,
    raw: (args) => sendCommand(set.master.port, args),
    cleanup: async () => {},
  }))

  describe('own Sentinel client with the session cache', () => {
    let stats: CacheStats | undefined
    storeSuite('RedisStore (cache, own Sentinel client)', async () => {
      const keySchema = schema('cached-sentinel')
      const cached = await cacheOn(
        new RedisStore({ sentinels: set.sentinelNodes, name: set.name, keySchema, cache: true }),
      )
      return {
        store: cached,
        raw: (args) => sendCommand(set.master.port, args),
        cleanup: async () => {
          stats = cached.cacheStats()
          await cached.clear()
          await cached.close()
        },
      }
    })
    expectCacheServed(() => stats)
  })

  it('RedisStore: writes reach the master and replicate', async () => {
    const id = randomId()
    const o = { now: Date.now(), ttl: 60_000, absoluteTimeout: 0, del: [] }
    expect(await store.write(id, { ...o, mode: 'create', set: { a: '1' } })).toBe(true)
    await sendCommand(set.master.port, ['WAIT', '1', '2000'])
    expect(await sendCommand(set.replica.port, ['HGET', store.key(id), 'a'])).toBe('1')
  })

  it('RedisStore.load: re-sends a script the master forgot', async () => {
    await expectScriptsResent(store, () => sendCommand(set.master.port, ['SCRIPT', 'FLUSH']))
  })

  it('RedisStore: creates and closes its own Sentinel client from { sentinels, name }', async () => {
    const own = new RedisStore({
      sentinels: set.sentinelNodes,
      name: set.name,
      keySchema: schema('own-sentinel'),
    })
    const id = randomId()
    const o = { now: Date.now(), ttl: 60_000, absoluteTimeout: 0, del: [] }
    expect(await own.write(id, { ...o, mode: 'create', set: { a: '1' } })).toBe(true)
    expect(await sendCommand(set.master.port, ['HGET', own.key(id), 'a'])).toBe('1')
    await own.clear()
    await own.close()
  })

  it('RedisStore.close: leaves a passed-in Sentinel client open', async () => {
    await expectClientOutlivesStore(client, () => client.ping())
  })
})
