// Expiry is the server's job: an idle or too-old session dies whatever the client keeps, nothing
// extends the absolute lifetime, and a late write never brings an expired session back.
// Redis enforces idle TTLs in real time (short real TTLs here); the absolute lifetime and MemoryStore
// run on a fake clock that moves only Date (sockets and Redis keep real timers).
import type http from 'node:http'
import request from 'supertest'
import { afterEach, expect, inject, it, vi } from 'vitest'
import { MemoryStore, type SessionOptions, type SessionStore } from '../../src/index.js'
import { RedisStore } from '../../src/store/redis.js'
import { sendCommand } from '../redis-servers.js'
import {
  closeRigs,
  cookieId,
  type Events,
  gate,
  keysUnder,
  listen,
  makeApp,
  replay,
  schema,
  sess,
  sleep,
  until,
} from './support.js'

const port = inject('redisPort')
const MIN = 60_000

interface Rig {
  store: SessionStore
  ks: string
  server: http.Server
  events: Events
  gates: Map<string, ReturnType<typeof gate>>
  parked: Set<string>
}
const rigs: Rig[] = []

afterEach(async () => {
  vi.useRealTimers()
  await closeRigs(rigs.splice(0))
})

async function rig(kind: 'RedisStore' | 'MemoryStore', options: Partial<SessionOptions>): Promise<Rig> {
  const ks = schema('expiry')
  const store = kind === 'RedisStore' ? new RedisStore({ port, keySchema: ks }) : new MemoryStore()
  const gates = new Map<string, ReturnType<typeof gate>>()
  const parked = new Set<string>()
  const { app, events } = makeApp({ store, ...options }, async (ctx) => {
    const s = sess(ctx)
    const name = String(ctx.query.gate ?? '')
    if (name) {
      parked.add(name)
      await gates.get(name)?.promise
    }
    if (ctx.path === '/create') s.data = 'precious'
    if (ctx.path === '/write') s.late = 'LATE'
    if (ctx.path === '/save') {
      s.late = 'LATE'
      await s.save()
    }
    if (ctx.path === '/regenerate') await s.regenerate()
    ctx.body = { isNew: s.isNew, id: ctx.sessionId, data: s.toJSON() }
  })
  const r = { store, ks, server: await listen(app), events, gates, parked }
  rigs.push(r)
  return r
}

async function get(r: Rig, path: string, cookie?: string) {
  r.events.reset()
  const req = request(r.server).get(path)
  const res = await (cookie === undefined ? req : req.set('Cookie', cookie))
  expect(res.status).toBeLessThan(500)
  return res
}

async function pttl(r: Rig, id: string): Promise<number> {
  return Number(await sendCommand(port, ['PTTL', (r.store as RedisStore).key(id)]))
}

function advance(ms: number): void {
  vi.setSystemTime(new Date(Date.now() + ms))
}

it('RedisStore idle timeout: Redis ends the session after maxAge even though the client keeps the cookie', async () => {
  const r = await rig('RedisStore', { maxAge: 250 })
  const created = await get(r, '/create')
  const id = cookieId(created) as string
  const ttl = await pttl(r, id)
  expect(ttl).toBeGreaterThan(0)
  expect(ttl).toBeLessThanOrEqual(250)
  await sleep(350)
  expect(await keysUnder(port, r.ks)).toEqual([])
  const late = await get(r, '/', replay(created))
  expect(late.body).toMatchObject({ isNew: true, data: {} })
  expect(late.body.id).not.toBe(id)
  expect(r.events.missed + r.events.expired).toBe(1)
})

it('RedisStore idle timeout: activity slides it, idleness ends it', async () => {
  const r = await rig('RedisStore', { maxAge: 400 })
  const created = await get(r, '/create')
  for (let i = 0; i < 4; i++) {
    await sleep(150)
    expect((await get(r, '/', replay(created))).body).toMatchObject({
      isNew: false,
      data: { data: 'precious' },
    })
  }
  await sleep(550)
  expect((await get(r, '/', replay(created))).body).toMatchObject({ isNew: true, data: {} })
})

it('MemoryStore idle timeout (fake clock): the session dies after maxAge without activity, not before', async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  const r = await rig('MemoryStore', { maxAge: 30 * MIN })
  const created = await get(r, '/create')
  advance(29 * MIN)
  expect((await get(r, '/', replay(created))).body.isNew).toBe(false)
  advance(29 * MIN)
  expect((await get(r, '/', replay(created))).body.isNew).toBe(false)
  advance(30 * MIN + 1)
  const late = await get(r, '/', replay(created))
  expect(late.body).toMatchObject({ isNew: true, data: {} })
  expect(late.body.id).not.toBe(cookieId(created))
  expect(r.events.missed + r.events.expired).toBe(1)
  expect(await r.store.count()).toBe(0)
})

for (const kind of ['RedisStore', 'MemoryStore'] as const) {
  it(`${kind} absoluteTimeout (fake clock): activity, rolling and regenerate do not extend it; session:expired`, async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const r = await rig(kind, { absoluteTimeout: 10 * MIN, maxAge: 24 * 60 * MIN, rolling: true })
    const created = await get(r, '/create')
    // The create capped the one-day idle TTL at the absolute lifetime, in Redis's own clock.
    const atCreate = kind === 'RedisStore' ? await pttl(r, cookieId(created) as string) : 0
    if (kind === 'RedisStore') expect(atCreate).toBeLessThanOrEqual(10 * MIN)
    advance(4 * MIN)
    const active = await get(r, '/', replay(created))
    expect(active.body).toMatchObject({ isNew: false, data: { data: 'precious' } })
    if (kind === 'RedisStore') {
      // Activity never moves the expiry past the deadline (Redis does not see the fake clock, so the
      // deadline is still where the create put it).
      expect(await pttl(r, cookieId(created) as string)).toBeLessThanOrEqual(atCreate)
    }
    advance(4 * MIN)
    const regen = await get(r, '/regenerate', replay(created))
    const fresh = cookieId(regen) as string
    expect(fresh).not.toBe(cookieId(created))
    if (kind === 'RedisStore') expect(await pttl(r, fresh)).toBeLessThanOrEqual(2 * MIN)
    advance(1 * MIN)
    expect((await get(r, '/', replay(regen))).body).toMatchObject({
      isNew: false,
      data: { data: 'precious' },
    })
    advance(1 * MIN + 1)
    const over = await get(r, '/', replay(regen))
    expect(over.body).toMatchObject({ isNew: true, data: {} })
    expect(over.body.id).not.toBe(fresh)
    // Redis does not see the fake clock, so its key outlives the deadline and the script reports
    // 'expired'. MemoryStore's TTL is capped at the deadline exactly, so the entry is simply gone.
    if (kind === 'RedisStore') expect(r.events).toMatchObject({ expired: 1, missed: 0 })
    else expect(r.events).toMatchObject({ expired: 0, missed: 1 })
    expect(kind === 'RedisStore' ? await keysUnder(port, r.ks) : await r.store.count()).toEqual(
      kind === 'RedisStore' ? [] : 0,
    )
  })

  for (const path of ['/write', '/save'] as const) {
    it(`${kind} absoluteTimeout (fake clock): a slow ${path} that crosses the deadline does not revive the session`, async () => {
      vi.useFakeTimers({ toFake: ['Date'] })
      const r = await rig(kind, { absoluteTimeout: 10 * MIN })
      const created = await get(r, '/create')
      advance(9 * MIN)
      const g = gate()
      r.gates.set('a', g)
      const pending = request(r.server)
        .get(`${path}?gate=a`)
        .set('Cookie', replay(created))
        .then((res) => res)
      await until(() => r.parked.has('a'))
      advance(2 * MIN)
      g.open()
      const late = await pending
      expect(late.status).toBe(200)
      expect(kind === 'RedisStore' ? await keysUnder(port, r.ks) : await r.store.count()).toEqual(
        kind === 'RedisStore' ? [] : 0,
      )
      const after = await get(r, '/', replay(created))
      expect(after.body).toMatchObject({ isNew: true, data: {} })
    })
  }
}

it('RedisStore absoluteTimeout (real time): at the deadline Redis drops the key; the next request gets a fresh session', async () => {
  const r = await rig('RedisStore', { absoluteTimeout: 300, maxAge: 60 * MIN })
  const created = await get(r, '/create')
  expect(await pttl(r, cookieId(created) as string)).toBeLessThanOrEqual(300)
  await sleep(400)
  const over = await get(r, '/', replay(created))
  expect(over.body).toMatchObject({ isNew: true, data: {} })
  // The TTL never outlives the absolute lifetime, so nothing of the session is left to report as
  // 'expired': it reads as a miss (documented in the README).
  expect(r.events).toMatchObject({ expired: 0, missed: 1 })
  expect(await keysUnder(port, r.ks)).toEqual([])
})

for (const path of ['/write', '/save'] as const) {
  it(`RedisStore idle timeout: a slow ${path} that outlives the TTL does not revive the session`, async () => {
    const r = await rig('RedisStore', { maxAge: 150 })
    const created = await get(r, '/create')
    const g = gate()
    r.gates.set('a', g)
    const pending = request(r.server)
      .get(`${path}?gate=a`)
      .set('Cookie', replay(created))
      .then((res) => res)
    await until(() => r.parked.has('a'))
    await sleep(250)
    expect(await keysUnder(port, r.ks)).toEqual([])
    g.open()
    expect((await pending).status).toBe(200)
    expect(await keysUnder(port, r.ks)).toEqual([])
    expect((await get(r, '/', replay(created))).body).toMatchObject({ isNew: true, data: {} })
  })
}

it('MemoryStore idle timeout (fake clock): a slow /save that outlives maxAge does not revive the session', async () => {
  vi.useFakeTimers({ toFake: ['Date'] })
  const r = await rig('MemoryStore', { maxAge: 30 * MIN })
  const created = await get(r, '/create')
  const g = gate()
  r.gates.set('a', g)
  const pending = request(r.server)
    .get('/save?gate=a')
    .set('Cookie', replay(created))
    .then((res) => res)
  await until(() => r.parked.has('a'))
  advance(31 * MIN)
  g.open()
  expect((await pending).status).toBe(200)
  expect(await r.store.count()).toBe(0)
})
