import { describe, expect, it } from 'vitest'
import { SessionCache } from './cache.js'
import type { StoredFields } from './types.js'

const LEASE = 60_000
const session = (v: string): StoredFields => ({ v, _c: '1' })

/** A cache that is `on`, with a lease long enough for the test. */
function onCache(max = 100): SessionCache {
  const cache = new SessionCache(max)
  cache.confirm(performance.now(), LEASE)
  cache.become('on')
  return cache
}

/** Reads `key` through the cache's protocol: begin, then end with what the read returned. */
function fill(cache: SessionCache, key: string, fields: StoredFields, pttl = LEASE): void {
  const ticket = cache.begin(key)
  if (ticket) cache.end(ticket, fields, pttl)
}

describe('SessionCache', () => {
  it('SessionCache.get: serves a filled entry, frozen, until it is dropped', () => {
    const cache = onCache()
    fill(cache, 'k', session('1'))
    const got = cache.get('k')
    expect(got).toEqual(session('1'))
    expect(Object.isFrozen(got)).toBe(true)
    cache.drop('k')
    expect(cache.get('k')).toBeUndefined()
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, invalidations: 1, size: 0 })
  })

  it('SessionCache.end: an invalidation while the read is in flight keeps its reply out', () => {
    const cache = onCache()
    const first = cache.begin('k')
    const second = cache.begin('k')
    cache.drop('k')
    // A read begun after the invalidation saw the new value: it may fill.
    const third = cache.begin('k')
    cache.end(first as NonNullable<typeof first>, session('old'), LEASE)
    cache.end(second as NonNullable<typeof second>, session('old'), LEASE)
    expect(cache.get('k')).toBeUndefined()
    cache.end(third as NonNullable<typeof third>, session('new'), LEASE)
    expect(cache.get('k')).toEqual(session('new'))
  })

  it('SessionCache.end: a flush or a loss of tracking while the read is in flight keeps its reply out', () => {
    const cache = onCache()
    const flushed = cache.begin('a')
    cache.clear()
    cache.end(flushed as NonNullable<typeof flushed>, session('old'), LEASE)
    expect(cache.get('a')).toBeUndefined()

    const lost = cache.begin('b')
    cache.become('off')
    cache.become('on')
    cache.end(lost as NonNullable<typeof lost>, session('old'), LEASE)
    expect(cache.get('b')).toBeUndefined()
  })

  it('SessionCache: not `on`, it neither fills nor serves, and leaving `on` empties it', () => {
    const cache = new SessionCache(10)
    cache.confirm(performance.now(), LEASE)
    expect(cache.begin('k')).toBeUndefined()
    cache.become('enabling')
    expect(cache.begin('k')).toBeUndefined()
    cache.become('on')
    fill(cache, 'k', session('1'))
    expect(cache.size).toBe(1)
    cache.become('enabling')
    expect(cache.size).toBe(0)
    expect(cache.get('k')).toBeUndefined()
    cache.become('closed')
    cache.become('on')
    expect(cache.status).toBe('closed')
  })

  it('SessionCache.get: serves nothing once the lease has run out, and again once confirmed', () => {
    const cache = new SessionCache(10)
    cache.confirm(performance.now() - LEASE - 1, LEASE)
    cache.become('on')
    fill(cache, 'k', session('1'))
    expect(cache.get('k')).toBeUndefined()
    cache.confirm(performance.now(), LEASE)
    expect(cache.get('k')).toEqual(session('1'))
  })

  it("SessionCache.get: an entry is gone once Redis's TTL has run out, invalidation or not", () => {
    const cache = onCache()
    fill(cache, 'k', session('1'), 1)
    const until = performance.now() + 5
    while (performance.now() < until) {
      // Busy-wait 5 ms: the expiry is measured on performance.now(), which fake timers do not move.
    }
    expect(cache.get('k')).toBeUndefined()
    expect(cache.size).toBe(0)
  })

  it('SessionCache.end: keeps nothing without a positive TTL, or without fields', () => {
    const cache = onCache()
    fill(cache, 'no-ttl', session('1'), -1)
    fill(cache, 'gone', session('1'), -2)
    const t = cache.begin('error')
    cache.end(t as NonNullable<typeof t>, undefined, LEASE)
    expect(cache.size).toBe(0)
  })

  it.each([1, 2, 3, 10, 101])('SessionCache: never holds more than max (%i) entries', (max) => {
    const cache = onCache(max)
    for (let i = 0; i < 5 * max + 7; i++) {
      fill(cache, `k${i}`, session(String(i)))
      // Reading back older keys promotes them; the bound must hold through promotions too.
      cache.get(`k${Math.floor(i / 2)}`)
      expect(cache.size).toBeLessThanOrEqual(max)
    }
    expect(cache.get(`k${5 * max + 6}`)).toEqual(session(String(5 * max + 6)))
  })

  it('SessionCache: an entry in use survives the rotation that drops the idle ones', () => {
    const cache = onCache(10)
    fill(cache, 'hot', session('hot'))
    for (let i = 0; i < 40; i++) {
      fill(cache, `cold${i}`, session(String(i)))
      expect(cache.get('hot')).toEqual(session('hot'))
    }
    expect(cache.get('cold0')).toBeUndefined()
  })
})

describe('SessionCache: keys known to hold a session', () => {
  it('SessionCache.mark: a key noted present stays so until it changes, is noted absent, or the cache empties', () => {
    const cache = onCache()
    expect(cache.present('k')).toBe(false)
    cache.mark('k', true)
    expect(cache.present('k')).toBe(true)
    cache.drop('k')
    expect(cache.present('k')).toBe(false)
    cache.mark('k', true)
    cache.mark('k', false)
    expect(cache.present('k')).toBe(false)
    cache.mark('k', true)
    cache.clear()
    expect(cache.present('k')).toBe(false)
    cache.mark('k', true)
    cache.become('off')
    expect(cache.present('k')).toBe(false)
  })

  it.each([1, 2, 10])('SessionCache.mark: remembers at most max (%i) keys, the most recent ones', (max) => {
    const cache = onCache(max)
    for (let i = 0; i < 4 * max + 3; i++) cache.mark(`k${i}`, true)
    const kept = Array.from({ length: 4 * max + 3 }, (_, i) => `k${i}`).filter((k) => cache.present(k))
    expect(kept.length).toBeLessThanOrEqual(max)
    expect(kept).toContain(`k${4 * max + 2}`)
  })

  it('SessionCache.wants: a fill is wanted only while `on`, with no entry and no fill of the key in flight', () => {
    const cache = onCache()
    expect(cache.wants('k')).toBe(true)
    const ticket = cache.begin('k')
    expect(cache.wants('k')).toBe(false)
    cache.end(ticket as NonNullable<typeof ticket>, session('1'), LEASE)
    expect(cache.wants('k')).toBe(false)
    cache.drop('k')
    expect(cache.wants('k')).toBe(true)
    cache.become('off')
    expect(cache.wants('k')).toBe(false)
  })
})

describe('SessionCache: refilling after a change', () => {
  it('SessionCache.drop: a key whose entry was served stays present through its change; one never served does not', () => {
    const cache = onCache()
    cache.mark('served', true)
    fill(cache, 'served', session('1'))
    expect(cache.get('served')).toEqual(session('1'))
    cache.drop('served')
    // A write drops twice (before it is sent and once answered): the second drop keeps it too.
    cache.drop('served')
    expect(cache.present('served')).toBe(true)
    cache.mark('served', false)
    expect(cache.present('served')).toBe(false)

    cache.mark('unserved', true)
    fill(cache, 'unserved', session('1'))
    cache.drop('unserved')
    expect(cache.present('unserved')).toBe(false)
  })
})
