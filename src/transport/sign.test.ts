import Keygrip from 'keygrip'
import type { Context } from 'koa'
import { describe, expect, it } from 'vitest'
import { signer } from './sign.js'

function ctxWith(keys: string[]): Context {
  return { app: { keys }, cookies: { keys: new Keygrip(keys) } } as unknown as Context
}

describe('signer', () => {
  it('verify: accepts what Keygrip signs over name=id, with the index of the key that signed', () => {
    const ctx = ctxWith(['new', 'old'])
    const s = signer('koa.sess')
    expect(s.verify(ctx, 'abc', new Keygrip(['new']).sign('koa.sess=abc'))).toBe(0)
    expect(s.verify(ctx, 'abc', new Keygrip(['old']).sign('koa.sess=abc'))).toBe(1)
    expect(signer('x').sign(ctx, '1')).toBe(new Keygrip(['new']).sign('x=1'))
  })

  it('verify: refuses other ids, other keys, truncated and empty digests', () => {
    const ctx = ctxWith(['new', 'old'])
    const s = signer('koa.sess')
    const good = s.sign(ctx, 'abc')
    expect(s.verify(ctx, 'abd', good)).toBe(-1)
    expect(s.verify(ctx, 'abc', new Keygrip(['other']).sign('koa.sess=abc'))).toBe(-1)
    expect(s.verify(ctx, 'abc', good.slice(1))).toBe(-1)
    expect(s.verify(ctx, 'abc', '')).toBe(-1)
  })

  it('verify: falls back to a Keygrip instance given as app.keys', () => {
    const grip = new Keygrip(['k1', 'k0'])
    const ctx = { app: { keys: grip }, cookies: { keys: grip } } as unknown as Context
    expect(signer('a').verify(ctx, 'b', new Keygrip(['k0']).sign('a=b'))).toBe(1)
    expect(signer('a').sign(ctx, 'b')).toBe(new Keygrip(['k1']).sign('a=b'))
  })

  describe('the memo of known signatures', () => {
    it('a known id with a forged, truncated or other-key signature is still refused', () => {
      const ctx = ctxWith(['k-new'])
      const s = signer('koa.sess')
      const good = s.sign(ctx, 'memo1')
      expect(s.verify(ctx, 'memo1', good)).toBe(0)
      // The memo now holds this id: every wrong digest must still fail.
      const flipped = (good[0] === 'A' ? 'B' : 'A') + good.slice(1)
      expect(s.verify(ctx, 'memo1', flipped)).toBe(-1)
      expect(s.verify(ctx, 'memo1', good.slice(0, -1))).toBe(-1)
      expect(s.verify(ctx, 'memo1', `${good}A`)).toBe(-1)
      expect(s.verify(ctx, 'memo1', new Keygrip(['k-other']).sign('koa.sess=memo1'))).toBe(-1)
      expect(s.verify(ctx, 'memo2', good)).toBe(-1)
    })

    it('a signature known under one name is not accepted under another', () => {
      const ctx = ctxWith(['k-names'])
      const cookie = signer('koa.sess')
      const header = signer('x-session-id')
      const digest = cookie.sign(ctx, 'memo5')
      expect(cookie.verify(ctx, 'memo5', digest)).toBe(0)
      expect(header.verify(ctx, 'memo5', digest)).toBe(-1)
      expect(header.sign(ctx, 'memo5')).toBe(new Keygrip(['k-names']).sign('x-session-id=memo5'))
    })

    it('a signature remembered under a key that was removed is refused', () => {
      const s = signer('koa.sess')
      const before = ctxWith(['k-retired'])
      const digest = s.sign(before, 'memo3')
      expect(s.verify(before, 'memo3', digest)).toBe(0)
      expect(s.verify(ctxWith(['k-replacement']), 'memo3', digest)).toBe(-1)
    })

    it('after a rotation, a remembered signature counts for the key that made it, and new ones use the new key', () => {
      const keys = ['k-first']
      const ctx = ctxWith(keys)
      const s = signer('koa.sess')
      const old = s.sign(ctx, 'memo4')
      expect(s.verify(ctx, 'memo4', old)).toBe(0)
      // Rotated in place, as `app.keys.unshift(...)` would.
      keys.unshift('k-second')
      expect(s.verify(ctx, 'memo4', old)).toBe(1)
      const fresh = s.sign(ctx, 'memo4')
      expect(fresh).toBe(new Keygrip(['k-second']).sign('koa.sess=memo4'))
      expect(s.verify(ctx, 'memo4', fresh)).toBe(0)
      // A key changed in place at index 0 also ends what was remembered under it.
      keys[0] = 'k-third'
      expect(s.verify(ctx, 'memo4', fresh)).toBe(-1)
    })

    it('stays correct past its bound: old entries are forgotten or moved back, none is confused', () => {
      const ctx = ctxWith(['k-bound'])
      const s = signer('koa.sess')
      const expected = (id: string) => new Keygrip(['k-bound']).sign(`koa.sess=${id}`)
      const first = s.sign(ctx, 'bound-0')
      for (let i = 1; i <= 12_000; i++) {
        s.sign(ctx, `bound-${i}`)
        // One id that keeps coming back, read from whichever generation holds it.
        if (i % 1000 === 0) expect(s.verify(ctx, 'bound-1', expected('bound-1'))).toBe(0)
      }
      expect(s.verify(ctx, 'bound-0', first)).toBe(0)
      expect(s.verify(ctx, 'bound-0', expected('bound-1'))).toBe(-1)
      expect(s.sign(ctx, 'bound-6000')).toBe(expected('bound-6000'))
      expect(s.sign(ctx, 'bound-12000')).toBe(expected('bound-12000'))
    })
  })
})
