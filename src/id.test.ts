import { describe, expect, it } from 'vitest'
import { hashId, idWithTag, isWellFormedId, randomId, slotTag } from './id.js'

describe('id', () => {
  it('randomId: 43 base64url characters, never repeated across pool refills', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 1000; i++) {
      const id = randomId()
      expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/)
      seen.add(id)
    }
    expect(seen.size).toBe(1000)
  })

  it('isWellFormedId: checks prefix, length and alphabet; custom ids get a wider but tame alphabet', () => {
    const id = randomId()
    expect(isWellFormedId(id, '', false)).toBe(true)
    expect(isWellFormedId(`p:${id}`, 'p:', false)).toBe(true)
    expect(isWellFormedId(id, 'p:', false)).toBe(false)
    expect(isWellFormedId(`${id}x`, '', false)).toBe(false)
    expect(isWellFormedId(id.replace(/^./, '*'), '', false)).toBe(false)
    expect(isWellFormedId('123e4567-e89b-12d3-a456-426614174000', '', true)).toBe(true)
    expect(isWellFormedId('has space in it and more', '', true)).toBe(false)
    expect(isWellFormedId('short', '', true)).toBe(false)
  })

  it('idWithTag: draws until the hash falls in the tag, and gives up on a generator that never does', () => {
    const id = idWithTag(randomId, 'Q')
    expect(slotTag(hashId(id))).toBe('Q')
    const fixed = 'x'.repeat(43)
    const other = slotTag(hashId(fixed)) === 'A' ? 'B' : 'A'
    expect(() => idWithTag(() => fixed, other)).toThrow(/produced no id in slot tag/)
  })
})
