// The SessionStore contract as one suite, run by stores.test.ts against every store, client and topology.
import type { Context } from 'koa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashId, randomId, userTag, withTag } from '../src/id.js'
import type { RedisStore } from '../src/store/redis.js'
import type { LoadOptions, SessionStore, StoredFields, WriteOptions } from '../src/store/types.js'

/** What a suite run needs: the store, raw commands to its Redis (none for MemoryStore), and a clean-up. */
export interface StoreUnderTest {
  store: SessionStore
  /** One Redis command, routed by its first key; `KEYS` must answer for every master. */
  raw?: (args: string[]) => Promise<unknown>
  /** Deletes what the run wrote (its own keys only) and closes what `make` opened. */
  cleanup: () => Promise<void>
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE
// PTTL is read a few ms after the write that set it; a slow CI box may take longer.
const TTL_SLACK = 1_500

/**
 * Registers a `describe(name)` with the tests of the {@link SessionStore} contract. `make` runs once
 * in `beforeAll`; every test uses fresh ids and users, so tests do not see each other's sessions
 * (only `count`/`clear` look at the whole store, and they run in order within the file).
 */
export function storeSuite(name: string, make: () => Promise<StoreUnderTest>): void {
  // Test names read `RedisStore.write: ...` whatever the client or topology; the describe tells those apart.
  const cls = /^\w+/.exec(name)?.[0] ?? name
  const t = (op: string, what: string): string => `${cls}.${op}: ${what}`

  describe(name, () => {
    let sut: StoreUnderTest
    let store: SessionStore

    beforeAll(async () => {
      sut = await make()
      store = sut.store
    })
    afterAll(async () => {
      await sut?.cleanup()
    })

    const load = (id: string, now = Date.now(), o: Partial<LoadOptions> = {}) =>
      store.load(id, { now, ttl: HOUR, absoluteTimeout: 0, ...o })
    const write = (id: string, mode: WriteOptions['mode'], o: Partial<WriteOptions> = {}) =>
      store.write(id, { mode, now: Date.now(), ttl: HOUR, absoluteTimeout: 0, set: {}, del: [], ...o })
    const create = (id: string, set: StoredFields, o: Partial<WriteOptions> = {}) =>
      write(id, 'create', { set, ...o })

    /** The Redis key of a session (RedisStore only). */
    const keyOf = (id: string): string => (store as RedisStore).key(id)
    /** The Redis key of a user's index, as docs/DESIGN.md lays it out. */
    const indexKeyOf = (userId: string): string => {
      const h = hashId(userId)
      return `${(store as RedisStore).keySchema}u:{${userTag(h)}}${h}`
    }
    /** Every key of this store's key schema, on every master (Redis only). */
    const ownKeys = async (): Promise<string[]> => {
      const ks = (store as RedisStore).keySchema
      const keys = (await sut.raw?.(['KEYS', `${ks}*`])) as string[]
      return keys.filter((k) => k.startsWith(ks))
    }
    const pttl = async (key: string): Promise<number> => Number(await sut.raw?.(['PTTL', key]))

    /**
     * Checks that both sessions, last written or read at `since` with the same TTL, expire `ttl` ms
     * after it. Redis: their PTTL. Memory keeps expiry in process, reachable only through the
     * injected clock: the first must still load 1 ms before, the second must be gone at the deadline
     * (two twins, because a load that finds a session slides it).
     */
    const expectTtl = async (ids: [string, string], ttl: number, since: number): Promise<void> => {
      if (sut.raw) {
        for (const id of ids) {
          const left = await pttl(keyOf(id))
          expect(left).toBeGreaterThan(ttl - TTL_SLACK)
          expect(left).toBeLessThanOrEqual(ttl)
        }
        return
      }
      expect(await load(ids[0], since + ttl - 1, { ttl: 1 })).not.toBeNull()
      expect(await load(ids[1], since + ttl)).toBeNull()
    }

    /** `n` ids ending with the user's tag, as the middleware draws them. */
    const idsOf = (userId: string, n: number): string[] =>
      Array.from({ length: n }, () => withTag(randomId(), userTag(hashId(userId))))
    const newUser = (): string => `user-${randomId()}`
    const asUser = (userId: string, agent?: string): StoredFields => ({
      _u: hashId(userId),
      ...(agent === undefined ? {} : { _a: agent }),
    })
    const handlesOf = async (userId: string): Promise<string[]> =>
      (await store.listSessions(userId)).map((s) => s.handle).sort()

    // --- load --------------------------------------------------------------------------------------------

    it(t('load', 'an unknown id is null'), async () => {
      expect(await load(randomId())).toBeNull()
    })

    it(
      t('load', 'returns the created fields, with _c set to the creation time (and no _t yet)'),
      async () => {
        const id = randomId()
        const now = Date.now()
        expect(await create(id, { a: '1', b: '"x"' }, { now })).toBe(true)
        expect(await load(id, now)).toEqual({ a: '1', b: '"x"', _c: String(now) })
      },
    )

    it(t('write', 'an update records when it touched the session in _t'), async () => {
      const id = randomId()
      const now = Date.now()
      expect(await create(id, { a: '1' }, { now })).toBe(true)
      expect(await write(id, 'update', { now: now + 5, set: { b: '2' } })).toBe(true)
      expect(await load(id, now + 5)).toEqual({ a: '1', b: '2', _c: String(now), _t: String(now + 5) })
    })

    it(t('load', 'keeps a _c given on create (regenerate carries it over)'), async () => {
      const id = randomId()
      const created = Date.now() - MINUTE
      expect(await create(id, { a: '1', _c: String(created) })).toBe(true)
      expect((await load(id)) as StoredFields).toMatchObject({ _c: String(created) })
    })

    // --- write: create ---------------------------------------------------------------------------------

    it(t('write', 'create refuses an existing id and changes nothing'), async () => {
      const id = randomId()
      expect(await create(id, { a: '1' })).toBe(true)
      expect(await create(id, { a: '2', b: '3' })).toBe(false)
      expect(await load(id)).toMatchObject({ a: '1' })
      expect(await load(id)).not.toHaveProperty('b')
    })

    // --- write: no resurrection -------------------------------------------------------------------------

    it(t('write', 'refuses update of a session never created, and creates nothing'), async () => {
      const id = randomId()
      expect(await write(id, 'update', { set: { a: '1' } })).toBe(false)
      expect(await write(id, 'replace', { set: { a: '1' } })).toBe(false)
      expect(await load(id)).toBeNull()
    })

    it(
      t('write', 'refuses update of a missing session (destroyed while a request was in flight)'),
      async () => {
        const id = randomId()
        expect(await create(id, { a: '1' })).toBe(true)
        await store.remove(id)
        expect(await write(id, 'update', { set: { b: '2' } })).toBe(false)
        expect(await write(id, 'replace', { set: { b: '2' } })).toBe(false)
        expect(await load(id)).toBeNull()
        if (sut.raw) expect(await sut.raw(['EXISTS', keyOf(id)])).toBe(0)
      },
    )

    it(t('write', 'a refused update does not put a destroyed session back in its user index'), async () => {
      const user = newUser()
      const [id] = idsOf(user, 1) as [string]
      expect(await create(id, asUser(user, 'UA'))).toBe(true)
      await store.remove(id)
      expect(await write(id, 'update', { set: { a: '1', ...asUser(user) } })).toBe(false)
      expect(await store.listSessions(user)).toEqual([])
      if (sut.raw) expect(await sut.raw(['EXISTS', indexKeyOf(user)])).toBe(0)
    })

    // --- write: update and replace ----------------------------------------------------------------------

    it(t('write', 'concurrent updates of different fields both persist'), async () => {
      const id = randomId()
      expect(await create(id, { a: '1' })).toBe(true)
      const results = await Promise.all([
        write(id, 'update', { set: { b: '2' } }),
        write(id, 'update', { set: { c: '3' } }),
      ])
      expect(results).toEqual([true, true])
      expect(await load(id)).toMatchObject({ a: '1', b: '2', c: '3' })
    })

    it(t('write', 'update deletes only the fields in del'), async () => {
      const id = randomId()
      const now = Date.now()
      expect(await create(id, { a: '1', b: '2', c: '3' }, { now })).toBe(true)
      expect(await write(id, 'update', { now, set: { d: '4' }, del: ['a', 'c'] })).toBe(true)
      expect(await load(id, now)).toEqual({ b: '2', d: '4', _c: String(now), _t: String(now) })
    })

    it(t('write', 'replace drops the data fields not given and keeps the metadata'), async () => {
      const user = newUser()
      const [id] = idsOf(user, 1) as [string]
      const now = Date.now()
      expect(await create(id, { a: '1', b: '2', _m: String(HOUR), ...asUser(user, 'UA') }, { now })).toBe(
        true,
      )
      expect(await write(id, 'replace', { set: { b: '3', c: '4' } })).toBe(true)
      const fields = (await load(id)) as StoredFields
      expect(fields).toMatchObject({ b: '3', c: '4', _c: String(now), _m: String(HOUR), _a: 'UA' })
      expect(fields).not.toHaveProperty('a')
      expect(fields._u).toBe(hashId(user))
      expect(await store.listSessions(user)).toHaveLength(1)
    })

    // --- remove -----------------------------------------------------------------------------------------

    it(t('write', 'sets and deletes thousands of fields in one write'), async () => {
      const id = randomId()
      const many: StoredFields = {}
      for (let i = 0; i < 2500; i++) many[`f${i}`] = String(i)
      expect(await create(id, many)).toBe(true)
      const del = Array.from({ length: 2400 }, (_, i) => `f${i}`)
      expect(await write(id, 'update', { set: { extra: '"x"' }, del })).toBe(true)
      const fields = (await load(id)) as StoredFields
      const data = Object.keys(fields).filter((f) => !f.startsWith('_'))
      expect(data).toHaveLength(101)
      expect(fields).toMatchObject({ f2499: '2499', extra: '"x"' })
    })

    it(t('remove', 'deletes the session and says it existed; an unknown id resolves false'), async () => {
      const id = randomId()
      expect(await create(id, { a: '1' })).toBe(true)
      expect(await store.remove(id)).toBe(true)
      expect(await load(id)).toBeNull()
      expect(await store.remove(id)).toBe(false)
      await expect(store.remove(randomId())).resolves.toBe(false)
      if (sut.raw) expect(await sut.raw(['EXISTS', keyOf(id)])).toBe(0)
    })

    // --- TTL --------------------------------------------------------------------------------------------

    it(t('write', 'sets the TTL of the session to ttl'), async () => {
      const ids: [string, string] = [randomId(), randomId()]
      const now = Date.now()
      for (const id of ids) expect(await create(id, { a: '1' }, { now, ttl: 2 * MINUTE })).toBe(true)
      await expectTtl(ids, 2 * MINUTE, now)
    })

    /**
     * Loads at `now` and waits for the touch the load may have started in the background: a second
     * load on the same connection runs after it (Redis answers one connection in order). Returns
     * what the second load read.
     */
    const loadAndSettle = async (id: string, now: number, o: Partial<LoadOptions> = {}) => {
      await load(id, now, o)
      return load(id, now, o)
    }

    it(t('load', 'within a tenth of the idle timeout since the last write, slides nothing'), async () => {
      const ids: [string, string] = [randomId(), randomId()]
      const then = Date.now()
      for (const id of ids) expect(await create(id, { a: '1' }, { now: then, ttl: 10_000 })).toBe(true)
      if (sut.raw) for (const id of ids) await sut.raw(['PEXPIRE', keyOf(id), '5000'])
      for (const id of ids)
        expect(await loadAndSettle(id, then + 999, { ttl: 10_000 })).toMatchObject({ a: '1' })
      if (sut.raw) {
        for (const id of ids) expect(await pttl(keyOf(id))).toBeLessThanOrEqual(5000)
        return
      }
      expect(await load(ids[0], then + 9_999, { ttl: 1 })).not.toBeNull()
      expect(await load(ids[1], then + 10_000)).toBeNull()
    })

    it(
      t('load', 'after a tenth of the idle timeout, touches: the TTL slides to ttl and _t moves'),
      async () => {
        const ids: [string, string] = [randomId(), randomId()]
        const then = Date.now()
        for (const id of ids) expect(await create(id, { a: '1' }, { now: then, ttl: 10_000 })).toBe(true)
        if (sut.raw) for (const id of ids) await sut.raw(['PEXPIRE', keyOf(id), '5000'])
        const now = then + 1_000
        for (const id of ids)
          expect(await loadAndSettle(id, now, { ttl: 10_000 })).toMatchObject({ _t: String(now) })
        await expectTtl(ids, 10_000, now)
      },
    )

    it(t('load', 'a per-session _m overrides ttl when it touches'), async () => {
      const ids: [string, string] = [randomId(), randomId()]
      const then = Date.now()
      for (const id of ids) {
        expect(await create(id, { a: '1', _m: String(2 * HOUR) }, { now: then, ttl: 2 * HOUR })).toBe(true)
        if (sut.raw) await sut.raw(['PEXPIRE', keyOf(id), '5000'])
      }
      const now = then + 13 * MINUTE
      for (const id of ids)
        expect(await loadAndSettle(id, now, { ttl: MINUTE })).toMatchObject({ _m: String(2 * HOUR) })
      await expectTtl(ids, 2 * HOUR, now)
    })

    it(t('load', 'a stored _m that is not a valid duration is ignored and deleted'), async () => {
      const ids: [string, string] = [randomId(), randomId()]
      const then = Date.now()
      for (const id of ids)
        expect(await create(id, { a: '1', _m: '1e20' }, { now: then, ttl: MINUTE })).toBe(true)
      if (sut.raw) for (const id of ids) await sut.raw(['PEXPIRE', keyOf(id), '5000'])
      const now = then + 7_000
      for (const id of ids) expect(await loadAndSettle(id, now, { ttl: MINUTE })).not.toHaveProperty('_m')
      await expectTtl(ids, MINUTE, now)
      if (sut.raw) expect(await sut.raw(['HEXISTS', keyOf(ids[0]), '_m'])).toBe(0)
    })

    // --- absoluteTimeout --------------------------------------------------------------------------------

    it(
      t('load', "past _c + absoluteTimeout is 'expired', deletes the session and refuses writes"),
      async () => {
        const user = newUser()
        const [id] = idsOf(user, 1) as [string]
        const t0 = Date.now()
        // Written without an absolute limit (as after a config change), so only the load's check ends it.
        expect(await create(id, { a: '1', ...asUser(user) }, { now: t0 })).toBe(true)
        const later = t0 + 10 * MINUTE + 1
        expect(await load(id, later, { absoluteTimeout: 10 * MINUTE })).toBe('expired')
        expect(await load(id, later)).toBeNull()
        expect(await write(id, 'update', { now: later, createdAt: t0, set: { b: '2' } })).toBe(false)
        expect(await load(id, later)).toBeNull()
        expect(await store.listSessions(user)).toEqual([])
        if (sut.raw) {
          expect(await sut.raw(['EXISTS', keyOf(id)])).toBe(0)
          expect(await sut.raw(['EXISTS', indexKeyOf(user)])).toBe(0)
        }
      },
    )

    it(t('write', 'refuses an update past _c + absoluteTimeout and deletes the session'), async () => {
      const id = randomId()
      const t0 = Date.now()
      expect(await create(id, { a: '1' }, { now: t0 })).toBe(true)
      const later = t0 + 10 * MINUTE
      const o = { now: later, createdAt: t0, absoluteTimeout: 10 * MINUTE, set: { b: '2' } }
      expect(await write(id, 'update', o)).toBe(false)
      expect(await load(id, later)).toBeNull()
      if (sut.raw) expect(await sut.raw(['EXISTS', keyOf(id)])).toBe(0)
    })

    it(t('load', 'a touch caps the TTL at what is left of absoluteTimeout'), async () => {
      const ids: [string, string] = [randomId(), randomId()]
      const t0 = Date.now()
      const o = { ttl: MINUTE, absoluteTimeout: 100_000 }
      for (const id of ids) expect(await create(id, { a: '1' }, { now: t0, ...o })).toBe(true)
      const now = t0 + 50_000
      for (const id of ids) expect(await loadAndSettle(id, now, o)).not.toBeNull()
      // 50 s left of the absolute lifetime, less than the one-minute idle TTL.
      await expectTtl(ids, 50_000, now)
    })

    it(
      t('load', 'never serves a session past _c + absoluteTimeout, even one touched just before'),
      async () => {
        const id = randomId()
        const t0 = Date.now()
        const o = { ttl: MINUTE, absoluteTimeout: 100_000 }
        expect(await create(id, { a: '1' }, { now: t0, ...o })).toBe(true)
        expect(await loadAndSettle(id, t0 + 50_000, o)).not.toBeNull()
        expect(await loadAndSettle(id, t0 + 99_999, o)).not.toBeNull()
        // Redis (or the memory store) expired it at the deadline, or the load found it past it.
        expect(await load(id, t0 + 100_000, o)).toSatisfy((r) => r === null || r === 'expired')
      },
    )

    it(t('write', 'caps the TTL at what is left of absoluteTimeout'), async () => {
      const ids: [string, string] = [randomId(), randomId()]
      const now = Date.now()
      for (const id of ids) expect(await create(id, { a: '1' }, { now, absoluteTimeout: 30_000 })).toBe(true)
      await expectTtl(ids, 30_000, now)
    })

    // --- user index -------------------------------------------------------------------------------------

    it(t('listSessions', "lists a user's sessions with createdAt, lastSeenAt and userAgent"), async () => {
      const user = newUser()
      const ids = idsOf(user, 2) as [string, string]
      const now = Date.now()
      expect(await create(ids[0], { a: '1', ...asUser(user, 'UA-0') }, { now })).toBe(true)
      expect(await create(ids[1], { a: '1', ...asUser(user) }, { now })).toBe(true)
      expect(await create(randomId(), { a: '1' }, { now })).toBe(true)
      const list = await store.listSessions(user)
      expect(list).toHaveLength(2)
      for (const s of list) {
        expect(s.createdAt).toBe(now)
        expect(s.lastSeenAt).toBe(now)
        for (const id of ids) {
          expect(s.handle).not.toBe(id)
          expect(s.handle).not.toContain(id)
        }
      }
      expect(list.map((s) => s.userAgent).sort()).toEqual(['UA-0', undefined])
      expect(await store.listSessions(newUser())).toEqual([])
      if (sut.raw) {
        // The index never expires before its sessions.
        const index = await pttl(indexKeyOf(user))
        expect(index).toBeGreaterThanOrEqual(await pttl(keyOf(ids[0])))
      }
    })

    it(t('destroySession', 'revokes exactly the session of the handle'), async () => {
      const user = newUser()
      const ids = idsOf(user, 2) as [string, string]
      for (const id of ids) expect(await create(id, { a: '1', ...asUser(user) })).toBe(true)
      const [first] = await handlesOf(user)
      await store.destroySession(first as string)
      const alive = await Promise.all(ids.map(async (id) => (await load(id)) !== null))
      expect(alive.filter(Boolean)).toHaveLength(1)
      expect(await handlesOf(user)).toHaveLength(1)
      expect(await handlesOf(user)).not.toContain(first)
    })

    it(t('destroySession', 'ignores a malformed or unknown handle'), async () => {
      const user = newUser()
      const [id] = idsOf(user, 1) as [string]
      expect(await create(id, { a: '1', ...asUser(user) })).toBe(true)
      await store.destroySession('not a handle *')
      await store.destroySession(hashId(randomId()))
      expect(await load(id)).not.toBeNull()
      expect(await store.listSessions(user)).toHaveLength(1)
    })

    it(t('destroyUserSessions', 'revokes all but `except` and returns the count'), async () => {
      const user = newUser()
      const ids = idsOf(user, 3) as [string, string, string]
      for (const id of ids) expect(await create(id, { a: '1', ...asUser(user) })).toBe(true)
      const other = newUser()
      const [theirs] = idsOf(other, 1) as [string]
      expect(await create(theirs, { a: '1', ...asUser(other) })).toBe(true)

      expect(await store.destroyUserSessions(user, { except: ids[0] })).toBe(2)
      expect(await load(ids[0])).not.toBeNull()
      expect(await load(ids[1])).toBeNull()
      expect(await load(ids[2])).toBeNull()
      expect(await store.listSessions(user)).toHaveLength(1)
      expect(await store.listSessions(other)).toHaveLength(1)

      expect(await store.destroyUserSessions(user)).toBe(1)
      expect(await load(ids[0])).toBeNull()
      expect(await store.listSessions(user)).toEqual([])
      expect(await store.destroyUserSessions(user)).toBe(0)
      expect(await load(theirs)).not.toBeNull()
      if (sut.raw) {
        // No orphan index: the user's index went with the last session.
        expect(await sut.raw(['EXISTS', indexKeyOf(user)])).toBe(0)
        expect(await sut.raw(['EXISTS', indexKeyOf(other)])).toBe(1)
      }
    })

    it(
      t('remove', "takes the session out of its user's index, and the index with the last one"),
      async () => {
        const user = newUser()
        const ids = idsOf(user, 2) as [string, string]
        for (const id of ids) expect(await create(id, { a: '1', ...asUser(user) })).toBe(true)
        await store.remove(ids[0])
        expect(await store.listSessions(user)).toHaveLength(1)
        await store.remove(ids[1])
        expect(await store.listSessions(user)).toEqual([])
        if (sut.raw) expect((await ownKeys()).filter((k) => k === indexKeyOf(user))).toEqual([])
      },
    )

    it(t('write', 'deleting _u takes the session out of the index; the session lives on'), async () => {
      const user = newUser()
      const [id] = idsOf(user, 1) as [string]
      expect(await create(id, { a: '1', ...asUser(user, 'UA') })).toBe(true)
      expect(await write(id, 'update', { del: ['_u', '_a'], user: hashId(user) })).toBe(true)
      expect(await store.listSessions(user)).toEqual([])
      expect(await load(id)).toMatchObject({ a: '1' })
      expect(await load(id)).not.toHaveProperty('_u')
      if (sut.raw) expect(await sut.raw(['EXISTS', indexKeyOf(user)])).toBe(0)
    })

    it(t('listSessions', 'sessions that expire leave no index and no keys behind'), async () => {
      const user = newUser()
      const ids = idsOf(user, 2) as [string, string]
      // A real TTL: Redis enforces it, not the injected clock.
      for (const id of ids) expect(await create(id, { a: '1', ...asUser(user) }, { ttl: 200 })).toBe(true)
      expect(await store.listSessions(user)).toHaveLength(2)
      await new Promise((resolve) => setTimeout(resolve, 450))
      expect(await store.listSessions(user)).toEqual([])
      expect(await write(ids[0], 'update', { set: { b: '2' } })).toBe(false)
      expect(await load(ids[1])).toBeNull()
      if (sut.raw) {
        const left = await ownKeys()
        expect(left).not.toContain(indexKeyOf(user))
        for (const id of ids) expect(left).not.toContain(keyOf(id))
      }
    })

    // --- count, clear -----------------------------------------------------------------------------------

    it(
      t('count', 'counts live sessions (not user indexes); clear deletes sessions and indexes'),
      async () => {
        await store.clear()
        expect(await store.count()).toBe(0)
        const user = newUser()
        const [mine] = idsOf(user, 1) as [string]
        const ids = [randomId(), randomId(), mine]
        expect(await create(ids[0] as string, { a: '1' })).toBe(true)
        expect(await create(ids[1] as string, { a: '1' })).toBe(true)
        expect(await create(mine, { a: '1', ...asUser(user) })).toBe(true)
        expect(await store.count()).toBe(3)
        await store.remove(ids[0] as string)
        expect(await store.count()).toBe(2)

        await store.clear()
        expect(await store.count()).toBe(0)
        for (const id of ids) expect(await load(id)).toBeNull()
        expect(await store.listSessions(user)).toEqual([])
        if (sut.raw) expect(await ownKeys()).toEqual([])
      },
    )

    // --- koa-session compat -----------------------------------------------------------------------------

    const ctx = {} as Context
    it(t('set', 'koa-session get/set/destroy round-trip a whole session'), async () => {
      const key = randomId()
      const sess = { a: 1, b: { c: [1, 'x'] }, _expire: Date.now() + 1000, _maxAge: 1000 }
      await store.set(key, sess, 1000, { rolling: false, changed: true, ctx })
      expect(await store.get(key, 1000, { rolling: false, ctx })).toEqual(sess)
      if (sut.raw) {
        const left = await pttl(keyOf(key))
        expect(left).toBeGreaterThan(0)
        expect(left).toBeLessThanOrEqual(1000)
      }

      // koa-session hands over the whole session: keys it no longer has go.
      const next = { b: 2, _expire: Date.now() + 1000, _maxAge: 1000 }
      await store.set(key, next, 1000, { rolling: false, changed: true, ctx })
      expect(await store.get(key, 1000, { rolling: false, ctx })).toEqual(next)

      await store.destroy(key, { ctx })
      expect(await store.get(key, 1000, { rolling: false, ctx })).toBeNull()
    })

    it(t('set', "a 'session' maxAge stores the session with the store's default TTL"), async () => {
      const key = randomId()
      await store.set(key, { a: 1 }, 'session', { rolling: false, changed: true, ctx })
      expect(await store.get(key, 'session', { rolling: false, ctx })).toEqual({ a: 1 })
      if (sut.raw) expect(await pttl(keyOf(key))).toBeGreaterThan(HOUR)
      await store.destroy(key, { ctx })
    })

    it(t('get', 'an unknown key is null'), async () => {
      expect(await store.get(randomId(), 1000, { rolling: false, ctx })).toBeNull()
    })
  })
}
