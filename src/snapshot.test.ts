import { describe, expect, it } from 'vitest'
import { createCodec } from './codec.js'
import { encode, Snapshot } from './snapshot.js'

describe('Snapshot', () => {
  it('Snapshot.diff: reports changed and deleted top-level keys, not untouched ones', () => {
    const snap = new Snapshot()
    const data = snap.open({ a: '1', b: '{"x":1}', c: '"keep"', _c: '5' }, createCodec(undefined), 'id')
    expect(data).toEqual({ a: 1, b: { x: 1 }, c: 'keep' })
    expect(snap.meta).toEqual({ _c: '5' })
    const changes = snap.diff({ a: 2, b: { x: 1 }, d: null })
    expect([...changes]).toEqual([
      ['a', '2'],
      ['d', 'null'],
    ])
    expect(changes.deleted).toEqual(['c'])
    snap.remember(changes, { _u: 'user' })
    expect(snap.diff({ a: 2, b: { x: 1 }, d: null }).size).toBe(0)
    expect(snap.meta).toEqual({ _c: '5', _u: 'user' })
  })

  it('Snapshot.open: corrupt JSON or a value that does not decrypt leaves the snapshot untouched', () => {
    const snap = new Snapshot()
    snap.open({ a: '1', _c: '5' }, createCodec(undefined), 'id')
    expect(snap.open({ a: '{oops', _c: '5' }, createCodec(undefined), 'id')).toBeUndefined()
    expect(
      snap.open({ a: 'not-a-ciphertext', _c: '5' }, createCodec([Buffer.alloc(32, 1)]), 'id'),
    ).toBeUndefined()
    expect(snap.diff({ a: 1 }).size).toBe(0)
  })

  it('Snapshot.open: fields without an integer creation time are not a session', () => {
    const snap = new Snapshot()
    expect(snap.open({ a: '1' }, createCodec(undefined), 'id')).toBeUndefined()
    expect(snap.open({ a: '1', _c: '1.5' }, createCodec(undefined), 'id')).toBeUndefined()
    expect(snap.open({ a: '1', _c: 'soon' }, createCodec(undefined), 'id')).toBeUndefined()
    expect(snap.open({ a: '1', _c: '5' }, createCodec(undefined), 'id')).toEqual({ a: 1 })
  })

  it('Snapshot.open: a value sealed with an older key is remembered for a re-seal, not taken as a change', () => {
    const older = createCodec([Buffer.alloc(32, 2)])
    const sealed: Record<string, string> = { ...encode(new Snapshot().diff({ a: 1 }), older, 'id'), _c: '5' }
    sealed._v = older.tag('id', sealed) as string
    const rotated = createCodec([Buffer.alloc(32, 3), Buffer.alloc(32, 2)])
    const snap = new Snapshot()
    expect(snap.open(sealed, rotated, 'id')).toEqual({ a: 1 })
    // Not a change of this request (rewriting it would lose a concurrent change): a conditional re-seal.
    expect(snap.diff({ a: 1 }).size).toBe(0)
    expect(snap.stale).toEqual(new Map([['a', sealed.a]]))
    expect(snap.staleTag).toBe(true)
  })
})
