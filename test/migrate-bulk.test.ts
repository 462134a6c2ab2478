// The bulk command: `koa-session-redis3 migrate` moves every old session (standalone and a 3-master
// Cluster), keeps TTLs, can be run again, and converges with the read-through on the same new id.
import { randomUUID } from 'node:crypto'
import { Cluster, Redis } from 'ioredis'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../src/cli.js'
import { countOldSessions, type RedisClient } from '../src/index.js'
import { RedisStore } from '../src/store/redis.js'
import { cookiesOf } from './helpers.js'
import { KEYS, koaSessionApp, ourApp, signedCookie } from './migrate-apps.js'
import { type RedisCluster, type RedisServer, startCluster, startRedis } from './redis-servers.js'

const env = { APP_KEYS: KEYS.join(',') }

/** Runs the command in process; resolves its exit code and what it printed. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await main(['migrate', ...args], env, { out: (t) => (out += t), err: (t) => (err += t) })
  return { code, out, err }
}

/** Writes `n` old sessions in koa-session's layout (as koa-redis writes it), every third one passport's. */
async function writeOld(redis: Redis | Cluster, prefix: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID())
  await Promise.all(
    ids.map((id, i) => {
      const data = i % 3 === 0 ? { visits: i, passport: { user: `u${i % 9}` } } : { visits: i }
      return redis.set(
        prefix + id,
        JSON.stringify({ ...data, _expire: Date.now() + 3_600_000, _maxAge: 3_600_000 }),
        'PX',
        3_600_000,
      )
    }),
  )
  return ids
}

describe('migrate CLI, standalone', () => {
  let server: RedisServer
  let redis: Redis
  beforeAll(async () => {
    server = await startRedis()
    redis = new Redis({ port: server.port })
  })
  afterAll(async () => {
    redis?.disconnect()
    await server?.stop()
  })

  it('migrate CLI: a dry run counts, a run moves all with their TTLs, a second run finds them moved', async () => {
    const ids = await writeOld(redis, 'b:', 200)
    // One real koa-session + koa-redis session among them.
    const old = koaSessionApp(server.port, 'b:')
    const real = await request(old.app.callback()).get('/')
    await old.close()
    await redis.set('b:not-a-session-of-koa-session', '{"visits":1}')
    const url = `redis://127.0.0.1:${server.port}`
    const common = [
      '--from',
      'koa-redis',
      '--url',
      url,
      '--prefix',
      'b:',
      '--key-schema',
      'bulk:',
      '--user-id',
      'passport.user',
    ]

    const dry = await run([...common, '--dry-run', '--batch', '50'])
    expect(dry.code).toBe(0)
    expect(dry.out).toBe('201 old sessions to move (0 moved already, 0 skipped)\n')
    const client = redis as unknown as RedisClient
    expect(await countOldSessions({ from: 'koa-redis', prefix: 'b:', client })).toBe(201)
    expect(await redis.keys('bulk:*')).toEqual([])

    const moved = await run([...common, '--batch', '50'])
    expect(moved.code).toBe(0)
    expect(moved.out).toMatch(/^moved 201 old sessions in [\d.]+ s \(0 moved already, 0 skipped\)\n$/)
    expect(moved.err).toMatch(/master 1\/1: scanned \d+, moved \d+/)
    const store = new RedisStore({ port: server.port, keySchema: 'bulk:' })
    expect(await store.count()).toBe(201)
    expect(await store.listSessions('u0')).toHaveLength(Math.ceil(200 / 9))
    for (const key of (await redis.keys('bulk:{*')).slice(0, 20)) {
      const pttl = await redis.pttl(key)
      expect(pttl).toBeGreaterThan(3_500_000)
      expect(pttl).toBeLessThanOrEqual(3_600_000)
    }
    expect(await redis.get(`b:${ids[0]}`)).not.toContain('visits')
    expect(await redis.get('b:not-a-session-of-koa-session')).toBe('{"visits":1}')

    expect(await countOldSessions({ from: 'koa-redis', prefix: 'b:', client })).toBe(0)
    const again = await run(common)
    expect(again.out).toMatch(/^moved 0 old sessions in [\d.]+ s \(201 moved already, 0 skipped\)\n$/)

    // A request with an old cookie lands on the id the command created: no second copy.
    const ours = ourApp(server.port, 'bulk:', { from: 'koa-redis', prefix: 'b:' })
    const res = await request(ours.app.callback())
      .get('/peek')
      .set('Cookie', signedCookie('koa.sess', ids[4] as string))
    expect(res.body.visits).toBe(4)
    expect(cookiesOf(res)['koa.sess']).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const realRes = await request(ours.app.callback())
      .get('/peek')
      .set(
        'Cookie',
        `koa.sess=${cookiesOf(real)['koa.sess']}; koa.sess.sig=${cookiesOf(real)['koa.sess.sig']}`,
      )
    expect(realRes.body.visits).toBe(1)
    expect(await store.count()).toBe(201)
    await Promise.all([store.close(), ours.store.close()])
  })

  it('migrate CLI: refuses to run without APP_KEYS or an address, naming what is missing', async () => {
    let err = ''
    const io = { out: () => undefined, err: (t: string) => (err += t) }
    expect(await main(['migrate', '--from', 'koa-redis', '--url', 'redis://127.0.0.1:1'], {}, io)).toBe(2)
    expect(err).toContain('APP_KEYS')
    expect(await main(['migrate', '--from', 'koa-redis'], env, io)).toBe(2)
    expect(err).toContain('--url and --cluster')
  })
})

describe('migrate on a 3-master Cluster', () => {
  let cluster: RedisCluster
  let client: Cluster
  beforeAll(async () => {
    cluster = await startCluster()
    client = new Cluster(cluster.startupNodes)
  })
  afterAll(async () => {
    client?.disconnect()
    await cluster?.stop()
  })

  it('migrate Cluster: the read-through moves across slots, and the bulk command SCANs every master', async () => {
    const ids = await writeOld(client, 'c:', 120)
    const store = new RedisStore({ cluster: cluster.startupNodes, keySchema: 'cl:' })
    const ours = ourApp(1, 'unused:', { from: 'koa-redis', prefix: 'c:' }, { store })
    const res = await request(ours.app.callback())
      .get('/peek')
      .set('Cookie', signedCookie('koa.sess', ids[3] as string))
    expect(res.body).toEqual({ user: 'u3', visits: 3 })
    expect(await store.listSessions('u3')).toHaveLength(1)

    const nodes = cluster.startupNodes
      .slice(0, 3)
      .map((n) => `${n.host}:${n.port}`)
      .join(',')
    const moved = await run([
      '--from',
      'koa-redis',
      '--cluster',
      nodes,
      '--prefix',
      'c:',
      '--key-schema',
      'cl:',
      '--user-id',
      'passport.user',
    ])
    expect(moved.code).toBe(0)
    expect(moved.out).toMatch(/^moved 119 old sessions in [\d.]+ s \(1 moved already, 0 skipped\)\n$/)
    expect(moved.err).toContain('master 3/3')
    expect(await store.count()).toBe(120)
    const again = await request(ours.app.callback())
      .get('/peek')
      .set('Cookie', signedCookie('koa.sess', ids[3] as string))
    expect(cookiesOf(again)['koa.sess']).toBe(cookiesOf(res)['koa.sess'])
    await store.close()
  })
})
