import { describe, expect, it } from 'vitest'
import { trackingProblem } from './node-tracker.js'

// CLIENT TRACKINGINFO replies as redis-server 7.0.15 gives them to ioredis (RESP2, or RESP3 with the
// legacy reply mapping: a flat array), and as a RESP3 map would come (a Map, or an object).
const flat = (flags: string[], redirect: number) => ['flags', flags, 'redirect', redirect, 'prefixes', []]

describe('trackingProblem', () => {
  it('trackingProblem: none when tracking is on, OPTIN, and redirects to our subscriber', () => {
    expect(trackingProblem(flat(['on', 'optin'], 6), '6')).toBeUndefined()
    expect(
      trackingProblem(
        new Map<string, unknown>([
          ['flags', new Set(['on', 'optin'])],
          ['redirect', 6],
        ]),
        '6',
      ),
    ).toBeUndefined()
    expect(trackingProblem({ flags: ['on', 'optin'], redirect: 6, prefixes: [] }, '6')).toBeUndefined()
  })

  it('trackingProblem: names what is wrong', () => {
    expect(trackingProblem(flat(['off'], -1), '6')).toBe('tracking is off')
    expect(trackingProblem(flat(['on'], 6), '6')).toBe('tracking is not OPTIN')
    expect(trackingProblem(flat(['on', 'optin', 'broken_redirect'], 6), '6')).toBe('the redirect is broken')
    expect(trackingProblem(flat(['on', 'optin'], 7), '6')).toBe('it redirects to client 7, not 6')
    expect(trackingProblem(flat(['on', 'optin'], 6), undefined)).toBe(
      'it redirects to client 6, not undefined',
    )
  })

  it('trackingProblem: an unexpected reply is a problem, never a pass', () => {
    for (const reply of [null, 'OK', 42, [], ['flags'], { flags: 'on optin', redirect: 6 }]) {
      expect(trackingProblem(reply, '6')).toBe('tracking is off')
    }
  })
})
