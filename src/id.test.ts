import calculateSlot from 'cluster-key-slot'
import { describe, expect, it } from 'vitest'
import {
  guestId,
  hashId,
  isWellFormedId,
  randomId,
  slotTag,
  TAG_LENGTH,
  tagOf,
  userTag,
  withTag,
} from './id.js'

const masterOf = (slot: number): number => (slot < 5461 ? 0 : slot < 10923 ? 1 : 2)

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
    expect(isWellFormedId('braces{are}not-allowed', '', true)).toBe(false)
    expect(isWellFormedId('short', '', true)).toBe(false)
  })

  it('guestId: a well-formed default id whose last three characters are its tag', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 1000; i++) {
      const id = guestId()
      expect(isWellFormedId(id, '', false)).toBe(true)
      expect(tagOf(id)).toHaveLength(TAG_LENGTH)
      seen.add(id.slice(0, -TAG_LENGTH))
    }
    // The 40 characters before the tag stay random.
    expect(seen.size).toBe(1000)
  })

  it('guestId: tags are drawn at random per id, spread evenly over three masters', () => {
    const slots = Array.from({ length: 30_000 }, () => calculateSlot(tagOf(guestId())))
    const perMaster = [0, 0, 0]
    for (const slot of slots) perMaster[masterOf(slot)] = (perMaster[masterOf(slot)] as number) + 1
    // 10,000 expected per master, standard deviation about 82: 5% is six of them.
    for (const share of perMaster) expect(Math.abs(share - 10_000)).toBeLessThan(500)
    // A counter (the walk this replaced) gives one constant step between consecutive slots; random
    // slots give nearly as many steps as ids, so two ids say nothing of the sessions issued between them.
    const steps = new Set(
      slots.slice(1, 1001).map((slot, i) => (slot - (slots[i] as number) + 16_384) % 16_384),
    )
    expect(steps.size).toBeGreaterThan(900)
  })

  it('slotTag: every one of the 16384 slots has a tag, and Redis hashes each to its slot', () => {
    // The tag table is computed with its own CRC-16; cluster-key-slot is the reference for Redis's.
    for (let slot = 0; slot < 16_384; slot++) expect(calculateSlot(slotTag(slot))).toBe(slot)
  })

  it("withTag / userTag: a user's session id ends with the first three characters of the user's hash", () => {
    const user = hashId('user-1')
    const id = withTag(randomId(), userTag(user))
    expect(tagOf(id)).toBe(user.slice(0, 3))
    expect(isWellFormedId(id, '', false)).toBe(true)
    expect(withTag('123e4567-e89b-12d3-a456-426614174000', 'xyz')).toBe(
      '123e4567-e89b-12d3-a456-426614174xyz',
    )
  })
})
