import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { remaining } from './adopt.js'
import { koaGenericSession } from './koa-generic-session.js'
import { koaRedis } from './koa-redis.js'
import { koaSessionRedis3 } from './koa-session-redis3.js'
import { MAX_OLD_BYTES, parseOld } from './layout.js'
import { derive } from './old-key.js'

const NOW = 1_700_000_000_000

describe('old layouts', () => {
  it('koaRedis.read: drops _expire, _maxAge and _session, and says when it expires', () => {
    const raw = JSON.stringify({ views: 2, passport: { user: 'a' }, _expire: NOW + 5000, _maxAge: 5000 })
    expect(koaRedis.read(raw, NOW)).toEqual({
      kind: 'session',
      data: { views: 2, passport: { user: 'a' } },
      expires: NOW + 5000,
    })
    expect(koaRedis.read(JSON.stringify({ views: 1, _expire: NOW }), NOW)).toEqual({ kind: 'expired' })
    expect(koaRedis.read(JSON.stringify({ views: 1, _session: true }), NOW)).toMatchObject({
      expires: undefined,
    })
  })

  it('koaGenericSession.read: drops the cookie object; cookie.expires is the expiry', () => {
    const expires = new Date(NOW + 60_000).toISOString()
    const raw = JSON.stringify({ cookie: { httpOnly: true, path: '/', maxAge: 60_000, expires }, views: 3 })
    expect(koaGenericSession.read(raw, NOW)).toEqual({
      kind: 'session',
      data: { views: 3 },
      expires: NOW + 60_000,
    })
    expect(koaGenericSession.read(JSON.stringify({ cookie: 'x', views: 1 }), NOW)).toEqual({
      kind: 'invalid',
      reason: 'not a koa-generic-session value',
    })
    expect(koaGenericSession.read(JSON.stringify({ cookie: { expires: 'never' } }), NOW)).toEqual({
      kind: 'invalid',
      reason: 'bad cookie.expires',
    })
  })

  it('koaSessionRedis3: keySchema gets its colon as 1.x added it; ids are 24 base-36 characters', () => {
    expect(koaSessionRedis3.prefixOf('app')).toBe('app:')
    expect(koaSessionRedis3.prefixOf('app:')).toBe('app:')
    expect(koaSessionRedis3.prefixOf('')).toBe('')
    expect(koaSessionRedis3.id.test('lx2k3j4h00abc3d4e5000001')).toBe(true)
    expect(koaSessionRedis3.id.test('LX2K3J4H00ABC3D4E5000001')).toBe(false)
  })

  it('old id formats: only what each library generates, never braces, globs or our own key names', () => {
    const uuid = randomUUID()
    expect(koaRedis.id.test(uuid)).toBe(true)
    expect(koaRedis.id.test(`sess:${uuid}`)).toBe(true)
    expect(koaGenericSession.id.test('AbCdEfGhIjKlMnOpQrStUvWxYz012345')).toBe(true)
    for (const hostile of [
      `${uuid}*`,
      `{abc}${uuid}`,
      `*`,
      `koa:sess:{abc}${'A'.repeat(43)}`,
      `${uuid}\n`,
      '',
    ]) {
      expect(koaRedis.id.test(hostile)).toBe(false)
      expect(koaGenericSession.id.test(hostile)).toBe(false)
      expect(koaSessionRedis3.id.test(hostile)).toBe(false)
    }
  })
})

describe('parseOld', () => {
  it('parseOld: refuses what no old library wrote', () => {
    expect(parseOld('nope')).toBe('corrupt data')
    expect(parseOld('null')).toBe('not a session')
    expect(parseOld('"s"')).toBe('not a session')
    expect(parseOld('{"__proto__":{"x":1}}')).toBe('reserved key')
    expect(parseOld('{"toString":1}')).toBe('reserved key')
    expect(parseOld(`"${'x'.repeat(MAX_OLD_BYTES)}"`)).toBe('too large')
  })

  it('parseOld: the data it returns has no prototype to pollute', () => {
    const data = parseOld('{"a":1}') as Record<string, unknown>
    expect(Object.getPrototypeOf(data)).toBeNull()
    expect(data.a).toBe(1)
  })
})

describe('remaining', () => {
  it('remaining: the earlier of PTTL and the recorded expiry; the idle timeout without either; 0 once over; capped at 400 days', () => {
    expect(remaining(NOW, 5000, NOW + 9000, 1)).toBe(5000)
    expect(remaining(NOW, 9000, NOW + 5000, 1)).toBe(5000)
    expect(remaining(NOW, -1, undefined, 777)).toBe(777)
    expect(remaining(NOW, -1, NOW - 1, 777)).toBe(0)
    expect(remaining(NOW, 10 ** 12, undefined, 1)).toBe(400 * 86_400_000)
  })
})

describe('derive', () => {
  it('derive: the same old id gives the same new id; another key, library or id gives another', () => {
    const a = derive('k1', 'koa-redis', 'id')
    expect(derive('k1', 'koa-redis', 'id')).toEqual(a)
    expect(a.body).toMatch(/^[A-Za-z0-9_-]{40}$/)
    expect(a.tag).toMatch(/^[A-Za-z0-9_-]{3}$/)
    expect(derive('k2', 'koa-redis', 'id').body).not.toBe(a.body)
    expect(derive('k1', 'koa-generic-session', 'id').body).not.toBe(a.body)
    expect(derive('k1', 'koa-redis', 'id2').body).not.toBe(a.body)
  })
})
