import Keygrip from 'keygrip'
import type { Context } from 'koa'
import { describe, expect, it } from 'vitest'
import { sign, verify } from './sign.js'

function ctxWith(keys: string[]): Context {
  return { app: { keys }, cookies: { keys: new Keygrip(keys) } } as unknown as Context
}

describe('sign', () => {
  it('verify: accepts what Keygrip signs, with the index of the key that signed', () => {
    const ctx = ctxWith(['new', 'old'])
    expect(verify(ctx, 'koa.sess=abc', new Keygrip(['new']).sign('koa.sess=abc'))).toBe(0)
    expect(verify(ctx, 'koa.sess=abc', new Keygrip(['old']).sign('koa.sess=abc'))).toBe(1)
    expect(sign(ctx, 'x=1')).toBe(new Keygrip(['new']).sign('x=1'))
  })

  it('verify: refuses other data, other keys, truncated and empty digests', () => {
    const ctx = ctxWith(['new', 'old'])
    const good = sign(ctx, 'koa.sess=abc')
    expect(verify(ctx, 'koa.sess=abd', good)).toBe(-1)
    expect(verify(ctx, 'koa.sess=abc', new Keygrip(['other']).sign('koa.sess=abc'))).toBe(-1)
    expect(verify(ctx, 'koa.sess=abc', good.slice(1))).toBe(-1)
    expect(verify(ctx, 'koa.sess=abc', '')).toBe(-1)
  })

  it('verify: falls back to a Keygrip instance given as app.keys', () => {
    const grip = new Keygrip(['k1', 'k0'])
    const ctx = { app: { keys: grip }, cookies: { keys: grip } } as unknown as Context
    expect(verify(ctx, 'a=b', new Keygrip(['k0']).sign('a=b'))).toBe(1)
  })

  describe('the memo of known signatures', () => {
    it('a known id with a forged, truncated or older-key signature is still refused', () => {
      const ctx = ctxWith(['k-new'])
      const good = sign(ctx, 'koa.sess=memo1')
      expect(verify(ctx, 'koa.sess=memo1', good)).toBe(0)
      // The memo now holds this id: every wrong digest must still fail.
      const flipped = (good[0] === 'A' ? 'B' : 'A') + good.slice(1)
      expect(verify(ctx, 'koa.sess=memo1', flipped)).toBe(-1)
      expect(verify(ctx, 'koa.sess=memo1', good.slice(0, -1))).toBe(-1)
      expect(verify(ctx, 'koa.sess=memo1', `${good}A`)).toBe(-1)
      expect(verify(ctx, 'koa.sess=memo1', new Keygrip(['k-other']).sign('koa.sess=memo1'))).toBe(-1)
      expect(verify(ctx, 'koa.sess=memo2', good)).toBe(-1)
    })

    it('a signature remembered under a key that was removed is refused', () => {
      const before = ctxWith(['k-retired'])
      const digest = sign(before, 'koa.sess=memo3')
      expect(verify(before, 'koa.sess=memo3', digest)).toBe(0)
      expect(verify(ctxWith(['k-replacement']), 'koa.sess=memo3', digest)).toBe(-1)
    })

    it('after a rotation, a remembered signature counts for the key that made it, and new ones use the new key', () => {
      const keys = ['k-first']
      const ctx = ctxWith(keys)
      const old = sign(ctx, 'koa.sess=memo4')
      expect(verify(ctx, 'koa.sess=memo4', old)).toBe(0)
      // Rotated in place, as `app.keys.unshift(...)` would.
      keys.unshift('k-second')
      expect(verify(ctx, 'koa.sess=memo4', old)).toBe(1)
      const fresh = sign(ctx, 'koa.sess=memo4')
      expect(fresh).toBe(new Keygrip(['k-second']).sign('koa.sess=memo4'))
      expect(verify(ctx, 'koa.sess=memo4', fresh)).toBe(0)
      // A key changed in place at index 0 also ends what was remembered under it.
      keys[0] = 'k-third'
      expect(verify(ctx, 'koa.sess=memo4', fresh)).toBe(-1)
    })

    it('stays correct past its bound: the oldest entries are forgotten, none is confused', () => {
      const ctx = ctxWith(['k-bound'])
      const first = sign(ctx, 'koa.sess=bound-0')
      for (let i = 1; i <= 10_050; i++) sign(ctx, `koa.sess=bound-${i}`)
      expect(verify(ctx, 'koa.sess=bound-0', first)).toBe(0)
      expect(verify(ctx, 'koa.sess=bound-0', sign(ctx, 'koa.sess=bound-1'))).toBe(-1)
      expect(sign(ctx, 'koa.sess=bound-10050')).toBe(new Keygrip(['k-bound']).sign('koa.sess=bound-10050'))
    })
  })
})
