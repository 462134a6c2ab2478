// What a Redis dump gives away: no live session id ever, no plaintext value with encryptionKeys, and
// a tampered or foreign ciphertext is a miss, not a 5xx and not someone else's data.
import { randomBytes } from 'node:crypto'
import request from 'supertest'
import { afterAll, expect, inject, it } from 'vitest'
import type { SessionOptions } from '../../src/index.js'
import { RedisStore } from '../../src/store/redis.js'
import { sendCommand } from '../redis-servers.js'
import { cookieId, dump, makeApp, replay, schema, sess } from './support.js'

const port = inject('redisPort')
const MARKER = 'SECRET-MARKER'
const stores: RedisStore[] = []

afterAll(async () => {
  for (const store of stores) {
    await store.clear()
    await store.close()
  }
})

function newStore(): { store: RedisStore; ks: string } {
  const ks = schema('at-rest')
  const store = new RedisStore({ port, keySchema: ks })
  stores.push(store)
  return { store, ks }
}

function app(store: RedisStore, extra: Partial<SessionOptions> = {}) {
  return makeApp({ store, userId: (s) => s.user as string | undefined, ...extra }, async (ctx) => {
    const s = sess(ctx)
    if (ctx.path === '/create') {
      s.secret = `${MARKER}-string`
      s.nested = { deep: [`${MARKER}-in-array`, { k: `${MARKER}-in-object` }] }
      s.count = 424242
      if (ctx.query.user) s.user = `${ctx.query.user}`
    }
    if (ctx.path === '/regenerate') await s.regenerate()
    ctx.body = { isNew: s.isNew, data: s.toJSON() }
  })
}

/** Every Set-Cookie session id `responses` handed out. */
function ids(responses: { headers: Record<string, unknown> }[]): string[] {
  return responses
    .map((r) => cookieId(r))
    .filter((id): id is string => typeof id === 'string' && id.length > 0)
}

/** Creates guests, users (two sessions of one user) and a regenerated session; returns every id handed out. */
async function populate(store: RedisStore, extra: Partial<SessionOptions> = {}) {
  const { app: a } = app(store, extra)
  const cb = a.callback()
  const out = []
  out.push(await request(cb).get('/create'))
  out.push(await request(cb).get('/create?user=alice@example.com'))
  out.push(await request(cb).get('/create?user=alice@example.com'))
  out.push(await request(cb).get(`/create?user=${MARKER}-user`))
  const before = await request(cb).get('/create')
  out.push(before)
  out.push(await request(cb).get('/regenerate').set('Cookie', replay(before)))
  return { cb, responses: out, ids: ids(out) }
}

it('RedisStore at rest: no raw session id appears in any key, field or value (plain JSON, with userId)', async () => {
  const { store, ks } = newStore()
  const { ids: handedOut } = await populate(store)
  expect(handedOut).toHaveLength(6)
  const all = await dump(port, ks)
  expect(all.filter((k) => k.type === 'hash')).toHaveLength(5)
  expect(all.filter((k) => k.type === 'zset').length).toBeGreaterThanOrEqual(2)
  const text = JSON.stringify(all)
  for (const id of handedOut) {
    expect(text).not.toContain(id)
    // Nor a recognisable part of it (a prefix long enough to narrow a brute-force search).
    expect(text).not.toContain(id.slice(0, 16))
  }
  // The index is keyed and filled by hashes: the user id is not in any key name or set member.
  const names = JSON.stringify(all.map((k) => [k.key, k.type === 'set' ? k.strings : []]))
  expect(names).not.toContain('alice')
  expect(names).not.toContain(MARKER)
  // Every key has a TTL.
  expect(all.filter((k) => k.pttl <= 0)).toEqual([])
})

it('RedisStore at rest: with encryptionKeys no plaintext value, user id or session id appears anywhere', async () => {
  const { store, ks } = newStore()
  const { ids: handedOut, cb } = await populate(store, { encryptionKeys: [randomBytes(32)] })
  const all = await dump(port, ks)
  const text = JSON.stringify(all)
  expect(text).not.toContain(MARKER)
  expect(text).not.toContain('alice')
  expect(text).not.toContain('424242')
  for (const id of handedOut) expect(text).not.toContain(id)
  // And the data is still there for the app.
  const [first] = handedOut
  const res = await request(cb)
    .get('/')
    .set('Cookie', replay({ headers: { 'set-cookie': [`koa.sess=${first}`] } }))
  expect(res.body).toMatchObject({ isNew: false, data: { secret: `${MARKER}-string`, count: 424242 } })
})

/** A session written with `keys`, and the key of its Redis hash. */
async function encryptedSession(store: RedisStore, keys: Buffer[]) {
  const { app: a, events } = app(store, { encryptionKeys: keys })
  const cb = a.callback()
  const created = await request(cb).get('/create')
  const id = cookieId(created) as string
  return { cb, events, created, id, key: store.key(id) }
}

async function hget(key: string, field: string): Promise<string> {
  return String(await sendCommand(port, ['HGET', key, field]))
}

it('RedisStore at rest: tampered ciphertext is a miss (fresh session, session:invalid, no 5xx)', async () => {
  const { store } = newStore()
  const keys = [randomBytes(32)]
  const tamperings: [string, (v: string, key: string) => Promise<string> | string][] = [
    ['flip one byte', (v) => flip(v, 20)],
    ['flip the last byte (auth tag)', (v) => flip(v, v.length - 2)],
    ['flip a byte of the IV', (v) => flip(v, 2)],
    ['truncate', (v) => v.slice(0, v.length - 6)],
    ['too short', () => 'AAAA'],
    ['empty', () => ''],
    ['plaintext JSON', () => JSON.stringify('attacker')],
    ['not base64', () => '!!!###***'],
    ['value of another field', (_v, key) => hget(key, 'count')],
  ]
  for (const [label, tamper] of tamperings) {
    const s = await encryptedSession(store, keys)
    await sendCommand(port, ['HSET', s.key, 'secret', await tamper(await hget(s.key, 'secret'), s.key)])
    s.events.reset()
    const res = await request(s.cb).get('/').set('Cookie', replay(s.created))
    expect(res.status, label).toBe(200)
    expect(res.body, label).toEqual({ isNew: true, data: {} })
    expect(s.events.invalid, label).toBe(1)
    expect(cookieId(res), label).not.toBe(s.id)
  }
})

it('RedisStore at rest: a ciphertext copied from another session is rejected, not adopted', async () => {
  const { store } = newStore()
  const keys = [randomBytes(32)]
  const { app: a, events } = app(store, { encryptionKeys: keys })
  const cb = a.callback()
  // The victim is an admin; the attacker has their own session and write access to Redis, not the key.
  const victim = await request(cb).get('/create?user=admin')
  const attacker = await request(cb).get('/create?user=mallory')
  const stolen = await hget(store.key(cookieId(victim) as string), 'user')
  await sendCommand(port, ['HSET', store.key(cookieId(attacker) as string), 'user', stolen])
  events.reset()
  const res = await request(cb).get('/').set('Cookie', replay(attacker))
  expect(res.status).toBe(200)
  expect(res.body.data.user).not.toBe('admin')
  expect(events.invalid).toBe(1)
})

it('RedisStore at rest: a session encrypted with another key is a miss (fresh session, session:invalid, no 5xx)', async () => {
  const { store } = newStore()
  const s = await encryptedSession(store, [randomBytes(32)])
  const { app: other, events } = app(store, { encryptionKeys: [randomBytes(32)] })
  const res = await request(other.callback()).get('/').set('Cookie', replay(s.created))
  expect(res.status).toBe(200)
  expect(res.body).toEqual({ isNew: true, data: {} })
  expect(events.invalid).toBe(1)
  expect(cookieId(res)).not.toBe(s.id)
})

it('RedisStore at rest: key rotation reads A with [B, A], rewrites it with B on that request, then [B] alone reads it', async () => {
  const { store } = newStore()
  const A = randomBytes(32)
  const B = randomBytes(32)
  const s = await encryptedSession(store, [A])
  const before = await dump(port, s.key)
  const { app: rotating, events } = app(store, { encryptionKeys: [B, A] })
  const read = await request(rotating.callback()).get('/').set('Cookie', replay(s.created))
  expect(read.body).toMatchObject({ isNew: false, data: { secret: `${MARKER}-string`, count: 424242 } })
  expect(events.invalid).toBe(0)
  const after = await dump(port, s.key)
  // Every data field was rewritten (new IV, new key); the metadata was left alone.
  for (const field of ['secret', 'nested', 'count']) {
    expect(after[0]?.hash?.[field]).toBeDefined()
    expect(after[0]?.hash?.[field]).not.toBe(before[0]?.hash?.[field])
  }
  expect(after[0]?.hash?._c).toBe(before[0]?.hash?._c)
  const { app: onlyB, events: bEvents } = app(store, { encryptionKeys: [B] })
  const later = await request(onlyB.callback()).get('/').set('Cookie', replay(s.created))
  expect(later.body).toEqual({
    isNew: false,
    data: {
      secret: `${MARKER}-string`,
      nested: { deep: [`${MARKER}-in-array`, { k: `${MARKER}-in-object` }] },
      count: 424242,
    },
  })
  expect(bEvents.invalid).toBe(0)
  // A alone can no longer read it: the rewrite really used B.
  const { app: onlyA, events: aEvents } = app(store, { encryptionKeys: [A] })
  expect((await request(onlyA.callback()).get('/').set('Cookie', replay(s.created))).body.isNew).toBe(true)
  expect(aEvents.invalid).toBe(1)
})

function flip(value: string, at: number): string {
  const c = value.charAt(at)
  return value.slice(0, at) + (c === 'A' ? 'B' : 'A') + value.slice(at + 1)
}
