// Lost updates: parallel requests on one session that change different top-level keys all persist;
// for the same key the last writer wins and nothing else is disturbed.
import type http from 'node:http'
import request from 'supertest'
import { afterAll, expect, inject, it } from 'vitest'
import { MemoryStore, type SessionStore } from '../../src/index.js'
import { RedisStore } from '../../src/store/redis.js'
import { listen, makeApp, replay, schema, sess, sleep } from './support.js'

const port = inject('redisPort')
const N = 40
const figures: string[] = []
const opened: { store: SessionStore; server: http.Server }[] = []

afterAll(async () => {
  for (const { store, server } of opened) {
    server.close()
    await store.clear()
    await store.close()
  }
  console.info(`lost-update figures:\n  ${figures.join('\n  ')}`)
})

/** A barrier: every request waits in its handler until `n` of them have loaded the session. */
function barrier(n: number) {
  let arrived = 0
  let release = (): void => undefined
  const all = new Promise<void>((resolve) => {
    release = resolve
  })
  return async () => {
    if (++arrived >= n) release()
    await all
  }
}

async function rig(kind: 'RedisStore' | 'MemoryStore', n: number) {
  const store =
    kind === 'RedisStore' ? new RedisStore({ port, keySchema: schema('lost-update') }) : new MemoryStore()
  const wait = barrier(n)
  const { app } = makeApp({ store }, async (ctx) => {
    const s = sess(ctx)
    const q = ctx.query as Record<string, string | undefined>
    if (q.barrier) {
      // All requests have loaded the same version of the session before any of them writes.
      await wait()
      await sleep(Number(q.delay ?? 0))
    }
    if (q.seed) for (const key of q.seed.split(',')) s[key] = `seed-${key}`
    if (q.set) s[q.set] = q.value ?? `value-${q.set}`
    if (q.del) delete s[q.del]
    ctx.body = s.toJSON()
  })
  const server = await listen(app)
  opened.push({ store, server })
  return server
}

const delay = () => Math.floor(Math.random() * 31)

for (const kind of ['RedisStore', 'MemoryStore'] as const) {
  it(`${kind} concurrency: ${N} parallel requests each setting its own key all persist`, async () => {
    const server = await rig(kind, N)
    const cookie = replay(await request(server).get('/?seed=base'))
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        request(server)
          .get(`/?barrier=1&delay=${delay()}&set=k${i}`)
          .set('Cookie', cookie)
          .then((r) => r.status),
      ),
    )
    expect(results.every((status) => status === 200)).toBe(true)
    const final = (await request(server).get('/').set('Cookie', cookie)).body as Record<string, string>
    const survived = Array.from({ length: N }, (_, i) => `k${i}`).filter((k) => final[k] === `value-${k}`)
    figures.push(`${kind}: ${survived.length}/${N} parallel writes of distinct keys survived`)
    expect(survived).toHaveLength(N)
    expect(Object.keys(final).sort()).toEqual(
      ['base', ...Array.from({ length: N }, (_, i) => `k${i}`)].sort(),
    )
  })

  it(`${kind} concurrency: 20 parallel deletes mixed with 20 parallel sets give the exact key set`, async () => {
    const server = await rig(kind, 40)
    const seeds = Array.from({ length: 20 }, (_, i) => `d${i}`)
    const cookie = replay(await request(server).get(`/?seed=${seeds.join(',')}`))
    await Promise.all([
      ...seeds.map((d) =>
        request(server)
          .get(`/?barrier=1&delay=${delay()}&del=${d}`)
          .set('Cookie', cookie)
          .then((r) => r.status),
      ),
      ...Array.from({ length: 20 }, (_, i) =>
        request(server)
          .get(`/?barrier=1&delay=${delay()}&set=n${i}`)
          .set('Cookie', cookie)
          .then((r) => r.status),
      ),
    ])
    const final = (await request(server).get('/').set('Cookie', cookie)).body as Record<string, string>
    const expected = Array.from({ length: 20 }, (_, i) => `n${i}`)
    const keys = Object.keys(final)
    figures.push(
      `${kind}: deletes+sets -> ${keys.filter((k) => k.startsWith('d')).length}/20 deleted keys still present, ` +
        `${keys.filter((k) => k.startsWith('n')).length}/20 new keys present`,
    )
    expect(keys.sort()).toEqual(expected.sort())
  })

  it(`${kind} concurrency: two writers of the same key, the later write wins and other keys stay intact`, async () => {
    const server = await rig(kind, 2)
    const cookie = replay(await request(server).get('/?seed=x,y'))
    // Both load, then "slow" writes 30 ms after "fast": the slow one commits last.
    await Promise.all([
      request(server)
        .get('/?barrier=1&delay=30&set=shared&value=slow')
        .set('Cookie', cookie)
        .then((r) => r.status),
      request(server)
        .get('/?barrier=1&delay=0&set=shared&value=fast')
        .set('Cookie', cookie)
        .then((r) => r.status),
    ])
    const final = (await request(server).get('/').set('Cookie', cookie)).body as Record<string, string>
    figures.push(`${kind}: same key, two writers -> shared=${final.shared}`)
    expect(final).toEqual({ x: 'seed-x', y: 'seed-y', shared: 'slow' })
  })
}
