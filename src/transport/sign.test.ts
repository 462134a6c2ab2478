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
})
