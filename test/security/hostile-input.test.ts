// Adversarial input in the cookie and in the header: nothing malformed or forged may reach Redis,
// be adopted, or turn into a 5xx. Runs on a dedicated redis-server so INFO commandstats counts only us.
import { randomUUID } from 'node:crypto'
import type http from 'node:http'
import type Koa from 'koa'
import request from 'supertest'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { SessionOptions } from '../../src/index.js'
import { RedisStore } from '../../src/store/redis.js'
import { type RedisServer, startRedis } from '../redis-servers.js'
import {
  APP_KEYS,
  COOKIE,
  commandStats,
  cookieFor,
  cookieId,
  countingClient,
  type Events,
  headerFor,
  headerId,
  keysUnder,
  listen,
  makeApp,
  randomId,
  rawRequest,
  resetStats,
  schema,
  sign,
} from './support.js'

const HEADER = 'x-session-id'
const KS = schema('hostile')
// What Node's HTTP client lets through in a header value; the rest goes over a raw socket below.
const SENDABLE = /^[\t\x20-\x7e\x80-\xff]*$/

let redis: RedisServer
let store: RedisStore
let counting: ReturnType<typeof countingClient>
let stored: string // a live session id, the victim's

interface Probe {
  app: Koa
  events: Events
  /** One listening server per app: far cheaper than a server per request. */
  server: http.Server
}
const apps: Record<'cookie' | 'cookieUnsigned' | 'header' | 'headerUnsigned' | 'customId', Probe> =
  {} as never

async function build(options: SessionOptions): Promise<Probe> {
  const { app, events } = makeApp({ store, ...options }, async (ctx) => {
    const s = ctx.session
    ctx.body = { isNew: s?.isNew, id: ctx.sessionId, keys: Object.keys(s ?? {}) }
  })
  return { app, events, server: await listen(app) }
}

beforeAll(async () => {
  redis = await startRedis()
  counting = countingClient(redis.port)
  store = new RedisStore({ client: counting.client, keySchema: KS })
  apps.cookie = await build({})
  apps.cookieUnsigned = await build({ signed: false })
  apps.header = await build({ header: HEADER })
  apps.headerUnsigned = await build({ header: HEADER, signed: false, cookie: false })
  // Custom ids (uuid-like, koa-session style) pass a wider check: it must still stop globs and garbage.
  apps.customId = await build({ signed: false, genid: () => randomUUID(), prefix: 'app:' })
  // A real, stored session: forged requests must never reach it either.
  const res = await request(
    makeApp({ store }, async (ctx) => {
      ;(ctx.session as Record<string, unknown>).owner = 'victim'
      ctx.body = ctx.sessionId
    }).app.callback(),
  ).get('/')
  stored = res.text
  // Warm up: connection, script cache. Counting starts from a clean slate afterwards.
  await request(apps.cookie.server).get('/').set('Cookie', cookieFor(stored))
})

afterAll(async () => {
  for (const probe of Object.values(apps)) probe.server.close()
  await store?.clear()
  await counting?.quit()
  await redis?.stop()
})

/** ~180 hostile values: wrong lengths, bad characters everywhere, globs, unicode bytes, dots, CRLF, oversize. */
function hostileValues(): { label: string; value: string }[] {
  const out: { label: string; value: string }[] = []
  const id = randomId()
  for (const n of [1, 8, 16, 32, 42, 44, 64, 86, 256, 512, 513, 4096, 8192]) {
    out.push({ label: `A x ${n}`, value: 'A'.repeat(n) })
    out.push({
      label: `base64url x ${n}`,
      value: (randomId() + randomId()).repeat(Math.ceil(n / 86)).slice(0, n),
    })
  }
  const bad = [
    ...' !"#$%&\'()*+,./:<=>?@[\\]^`{|}~',
    '\t',
    '\x7f',
    '\x80',
    '\xa0',
    '\xff',
    '\x00',
    '\x01',
    '\x1b',
    '\r',
    '\n',
  ]
  for (const [i, ch] of bad.entries()) {
    // In the middle, and at one end (alternating), so both anchors of the check are exercised.
    for (const at of [21, i % 2 === 0 ? 0 : 42]) {
      out.push({
        label: `${JSON.stringify(ch)} at ${at}`,
        value: id.slice(0, at) + ch + id.slice(at + 1),
      })
    }
  }
  const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1')
  out.push(
    { label: 'glob *', value: '*' },
    { label: 'glob ?', value: '?' },
    { label: 'glob [', value: '[' },
    { label: 'glob class', value: '[a-z]*' },
    { label: 'glob * x 43', value: '*'.repeat(43) },
    { label: 'glob ? x 43', value: '?'.repeat(43) },
    { label: 'glob [ x 43', value: '['.repeat(43) },
    { label: 'id + *', value: `${id.slice(0, 42)}*` },
    { label: 'schema glob', value: `${KS}*` },
    { label: 'hash tag glob', value: '{*}' },
    { label: 'escaped glob', value: '\\*' },
    { label: 'utf8 é x 43', value: utf8('é'.repeat(43)) },
    { label: 'latin1 é x 43', value: '\xe9'.repeat(43) },
    { label: 'utf8 emoji', value: utf8('🍪'.repeat(11)) },
    { label: 'utf8 é inside', value: utf8(`${id.slice(0, 42)}é`) },
    { label: 'fullwidth A x 43', value: utf8('Ａ'.repeat(43)) },
    { label: 'utf8 RTL override', value: utf8(`\u202e${id.slice(1)}`) },
    { label: 'space', value: ' ' },
    { label: 'quoted empty', value: '""' },
    { label: 'quoted id', value: `"${id}"` },
    { label: 'dots', value: '..' },
    { label: 'dot slash', value: '../' },
    { label: 'traversal', value: '../../../../etc/passwd' },
    { label: 'encoded traversal', value: '%2e%2e%2f%2e%2e%2f' },
    { label: 'id with dots', value: `${id.slice(0, 41)}..` },
    { label: 'encoded CRLF', value: '%0d%0aSet-Cookie:%20evil=1' },
    { label: 'id + encoded CRLF', value: `${id}%0d%0a` },
    { label: 'literal backslash CRLF', value: '\\r\\nX-Evil: 1' },
    { label: '__proto__', value: '__proto__' },
    { label: 'constructor', value: 'constructor' },
    { label: 'null', value: 'null' },
    { label: 'undefined', value: 'undefined' },
    { label: 'mongo operator', value: '{"$gt":""}' },
    { label: 'object string', value: '[object Object]' },
    { label: 'standard base64', value: `${id.slice(0, 41)}+/` },
    { label: 'padded', value: `${id}=` },
    { label: 'id twice', value: id + id },
    { label: 'id + space', value: `${id} x` },
    { label: 'space + id', value: ` ${id}` },
    { label: 'uri-encoded id', value: encodeURIComponent(`${id.slice(0, 40)}/+=`) },
    { label: 'lua', value: "'); redis.call('FLUSHALL') --" },
    { label: 'RESP', value: '*1\r\n$8\r\nFLUSHALL' },
    { label: 'id + 8 KB', value: id + 'A'.repeat(8149) },
  )
  return out
}

const VALUES = hostileValues()
// The cookie grammar splits on ';' and Node trims a header value's ends; such values arrive changed,
// but they still must not be adopted, so they stay in the list.
const COOKIE_VALUES = VALUES.filter((v) => SENDABLE.test(v.value) && !v.value.includes(';'))
const HEADER_VALUES = VALUES.filter((v) => SENDABLE.test(v.value))
const RAW_ONLY = VALUES.filter((v) => !SENDABLE.test(v.value))
// Variants that take the same code path as one already covered run on every SAMPLE-th value only.
const SAMPLE = 5

/**
 * True when a value legitimately arrives as a well-formed id: RFC 6265 lets a cookie value be quoted,
 * and Node trims a header value's ends. Such a value is an (unknown) id, not garbage.
 */
function arrivesAsId(value: string, where: 'cookie' | 'header'): boolean {
  const arrived = where === 'cookie' ? value.replace(/^"(.*)"$/, '$1') : value.replace(/^[ \t]+|[ \t]+$/g, '')
  return /^[A-Za-z0-9_-]{43}$/.test(arrived)
}

interface Outcome {
  label: string
  status: number
  issued: string | undefined
  body: { isNew?: boolean; id?: string; keys?: string[] }
  calls: string[]
  invalid: number
  missed: number
  headers: string
}

async function send(probe: Probe, label: string, headers: Record<string, string>): Promise<Outcome> {
  probe.events.reset()
  counting.calls.length = 0
  let req = request(probe.server).get('/')
  for (const [name, value] of Object.entries(headers)) req = req.set(name, value)
  const res = await req
  return {
    label,
    status: res.status,
    issued: cookieId(res) ?? headerId(res.headers[HEADER]),
    body: res.body as Outcome['body'],
    calls: [...counting.calls],
    invalid: probe.events.invalid,
    missed: probe.events.missed,
    headers: JSON.stringify(res.headers),
  }
}

/** Checks the invariants of a rejected id; returns a description per violation. */
function violations(o: Outcome, attacker: string, expectCalls: number): string[] {
  const out: string[] = []
  if (o.status >= 500) out.push(`${o.label}: status ${o.status}`)
  if (o.calls.length !== expectCalls)
    out.push(`${o.label}: ${o.calls.length} Redis calls (${o.calls.join(', ')})`)
  if (o.body.isNew !== true) out.push(`${o.label}: session not new`)
  if (o.body.keys?.length) out.push(`${o.label}: session has data ${o.body.keys.join(',')}`)
  if (o.issued === undefined || !/^[A-Za-z0-9_-]{43}$/.test(o.issued))
    out.push(`${o.label}: no fresh id issued`)
  if (o.issued !== o.body.id) out.push(`${o.label}: issued id differs from ctx.sessionId`)
  if (o.issued === attacker || o.issued === stored) out.push(`${o.label}: attacker's id adopted`)
  // The raw attacker value must not be echoed back (no reflection, no response splitting).
  if (attacker.length >= 12 && o.headers.includes(attacker)) out.push(`${o.label}: attacker value reflected`)
  return out
}

async function withStats<T>(
  run: () => Promise<T>,
): Promise<{ result: T; stats: Record<string, number>; added: string[] }> {
  const before = await keysUnder(redis.port, '')
  await resetStats(redis.port)
  const result = await run()
  const stats = await commandStats(redis.port)
  const after = await keysUnder(redis.port, '')
  return { result, stats, added: after.filter((k) => !before.includes(k)) }
}

/** Runs once; the tests that check different properties of the same requests share the outcomes. */
function once<T>(run: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined
  return () => {
    promise ??= run()
    return promise
  }
}

interface Sent {
  label: string
  value: string
  o: Outcome
}

const cookieRun = once(() =>
  withStats(async () => {
    const signed: Sent[] = []
    const forged: Sent[] = []
    for (const [i, { label, value }] of COOKIE_VALUES.entries()) {
      // Signed with app.keys: only the well-formedness check stands between the value and Redis.
      signed.push({ label, value, o: await send(apps.cookie, label, { Cookie: cookieFor(value) }) })
      // A sample of the same values without a valid signature (forgeries have their own tests below).
      if (i % SAMPLE !== 0) continue
      const bad = { Cookie: cookieFor(value, 'x'.repeat(27)) }
      forged.push({
        label: `${label} (bad sig)`,
        value,
        o: await send(apps.cookie, `${label} (bad sig)`, bad),
      })
    }
    return { signed, forged }
  }),
)

it('cookie: hundreds of malformed ids, even correctly signed, cost zero Redis commands and get a fresh id', async () => {
  const { result, stats, added } = await cookieRun()
  expect(COOKIE_VALUES.length).toBeGreaterThan(120)
  expect([...result.signed, ...result.forged].flatMap(({ o, value }) => violations(o, value, 0))).toEqual([])
  expect(stats).toEqual({})
  expect(added).toEqual([])
})

it('cookie: malformed, correctly signed ids emit session:invalid', async () => {
  const { result } = await cookieRun()
  const silent = result.signed
    // A value that arrives as nothing is not a session id. A leading quote is stripped before the
    // signature check, so such a value arrives forged (see the forged-signature tests).
    .filter(({ value }) => value.trim() !== '' && !value.startsWith('"'))
    .filter(({ o }) => o.invalid !== 1)
    .map(({ label }) => label)
  expect(silent).toEqual([])
})

it('cookie (signed: false): garbage costs zero Redis commands, gets a fresh id and emits session:invalid', async () => {
  const { result, stats, added } = await withStats(async () => {
    const bad: string[] = []
    for (const { label, value } of COOKIE_VALUES) {
      if (arrivesAsId(value, 'cookie')) continue
      const o = await send(apps.cookieUnsigned, label, { Cookie: `${COOKIE}=${value}` })
      bad.push(...violations(o, value, 0))
      if (value.trim() !== '' && value !== '""' && o.invalid !== 1) bad.push(`${label}: no session:invalid`)
    }
    return bad
  })
  expect(result).toEqual([])
  expect(stats).toEqual({})
  expect(added).toEqual([])
})

/** Forged signatures on well-formed ids, one of them the id of a live session. */
function forgedCookies(): { label: string; id: string; cookie: string }[] {
  const id = randomId()
  const other = randomId()
  const good = sign(`${COOKIE}=${stored}`)
  return [
    { label: 'unknown id, no sig', id, cookie: cookieFor(id, null) },
    { label: 'live id, no sig', id: stored, cookie: cookieFor(stored, null) },
    { label: 'live id, empty sig', id: stored, cookie: cookieFor(stored, '') },
    { label: 'live id, random sig', id: stored, cookie: cookieFor(stored, randomId().slice(0, 27)) },
    {
      label: 'live id, sig by attacker key',
      id: stored,
      cookie: cookieFor(stored, sign(`${COOKIE}=${stored}`, 'attacker')),
    },
    {
      label: 'live id, sig of another id',
      id: stored,
      cookie: cookieFor(stored, sign(`${COOKIE}=${other}`)),
    },
    {
      label: 'live id, sig for another cookie name',
      id: stored,
      cookie: cookieFor(stored, sign(`other=${stored}`)),
    },
    {
      label: 'live id, sig for the header',
      id: stored,
      cookie: cookieFor(stored, sign(`${HEADER}=${stored}`)),
    },
    { label: 'live id, sig upper-cased', id: stored, cookie: cookieFor(stored, good.toUpperCase()) },
    { label: 'live id, sig truncated', id: stored, cookie: cookieFor(stored, good.slice(0, 20)) },
    { label: 'live id, sig extended', id: stored, cookie: cookieFor(stored, `${good}A`) },
    {
      label: 'live id, sig in standard base64',
      id: stored,
      cookie: cookieFor(stored, `${good.slice(0, 26)}+`),
    },
    {
      label: 'live id, sig padded to 43 chars',
      id: stored,
      cookie: cookieFor(stored, good + good.slice(0, 16)),
    },
    {
      label: 'unknown id, sig by a retired key',
      id,
      cookie: cookieFor(id, sign(`${COOKIE}=${id}`, 'retired')),
    },
    {
      label: 'sig before the cookie',
      id: stored,
      cookie: `${COOKIE}.sig=${randomId().slice(0, 27)}; ${COOKIE}=${stored}`,
    },
    {
      label: 'two sigs, first forged',
      id: stored,
      cookie: `${COOKIE}=${stored}; ${COOKIE}.sig=AAAA; ${COOKIE}.sig=${good}`,
    },
  ]
}

it('cookie: forged signatures (also on a live id) cost zero Redis commands, get a fresh id, leave the victim intact', async () => {
  const before = await store.load(stored, { now: Date.now(), ttl: 60_000, absoluteTimeout: 0 })
  const { result, stats, added } = await withStats(async () => {
    const bad: string[] = []
    for (const { label, id, cookie } of forgedCookies()) {
      bad.push(...violations(await send(apps.cookie, label, { Cookie: cookie }), id, 0))
    }
    return bad
  })
  expect(result).toEqual([])
  expect(stats).toEqual({})
  expect(added).toEqual([])
  const after = await store.load(stored, { now: Date.now(), ttl: 60_000, absoluteTimeout: 0 })
  expect(after && after !== 'expired' ? after.owner : undefined).toBe('"victim"')
  expect(before).not.toBeNull()
})

it('cookie: forged signatures emit session:invalid', async () => {
  const silent: string[] = []
  for (const { label, cookie } of forgedCookies()) {
    const o = await send(apps.cookie, label, { Cookie: cookie })
    if (o.invalid !== 1) silent.push(label)
  }
  expect(silent).toEqual([])
})

const headerRun = once(() =>
  withStats(async () => {
    const signed: Sent[] = []
    const raw: Sent[] = []
    const unsigned: Sent[] = []
    for (const [i, { label, value }] of HEADER_VALUES.entries()) {
      // Signed with app.keys (the header transport splits at the last dot).
      signed.push({ label, value, o: await send(apps.header, label, { [HEADER]: headerFor(HEADER, value) }) })
      if (i % SAMPLE === 0)
        raw.push({
          label: `${label} (raw)`,
          value,
          o: await send(apps.header, `${label} (raw)`, { [HEADER]: value }),
        })
      if (arrivesAsId(value, 'header')) continue
      const o = await send(apps.headerUnsigned, `${label} (unsigned mode)`, { [HEADER]: value })
      unsigned.push({ label: `${label} (unsigned mode)`, value, o })
    }
    return { signed, raw, unsigned }
  }),
)

it('header: malformed values, correctly signed or not, cost zero Redis commands and get a fresh id', async () => {
  const { result, stats, added } = await headerRun()
  expect(HEADER_VALUES.length).toBeGreaterThan(120)
  const all = [...result.signed, ...result.raw, ...result.unsigned]
  expect(all.flatMap(({ o, value }) => violations(o, value, 0))).toEqual([])
  expect(stats).toEqual({})
  expect(added).toEqual([])
})

it('header: malformed values emit session:invalid (signed and unsigned mode)', async () => {
  const { result } = await headerRun()
  const silent = [
    // Node trims a leading blank, which breaks the signature: that value arrives forged (tested below).
    ...result.signed
      .filter(({ value }) => value.trim() !== '' && value === value.trimStart())
      .map((sent) => ({ ...sent, label: `${sent.label} (signed)` })),
    ...result.unsigned.filter(({ value }) => value.trim() !== ''),
  ]
    .filter(({ o }) => o.invalid !== 1)
    .map(({ label }) => label)
  expect(silent).toEqual([])
})

function forgedHeaders(): { label: string; id: string; value: string }[] {
  const good = headerFor(HEADER, stored)
  const sig = good.slice(good.lastIndexOf('.') + 1)
  return [
    { label: 'live id, no sig', id: stored, value: stored },
    { label: 'live id, empty sig', id: stored, value: `${stored}.` },
    { label: 'live id, random sig', id: stored, value: `${stored}.${randomId().slice(0, 27)}` },
    { label: 'live id, sig by attacker key', id: stored, value: headerFor(HEADER, stored, 'attacker') },
    { label: 'live id, cookie signature', id: stored, value: `${stored}.${sign(`${COOKIE}=${stored}`)}` },
    { label: 'live id, sig for another header', id: stored, value: headerFor('x-other', stored) },
    { label: 'live id, sig upper-cased', id: stored, value: `${stored}.${sig.toUpperCase()}` },
    { label: 'live id, sig doubled', id: stored, value: `${good}.${sig}` },
    { label: 'live id, sig first', id: stored, value: `${sig}.${stored}` },
    { label: 'live id, sig truncated', id: stored, value: good.slice(0, -3) },
    { label: 'live id, sig + space', id: stored, value: `${good} x` },
  ]
}

it('header: forged signatures (also on a live id) cost zero Redis commands and get a fresh id', async () => {
  const { result, stats, added } = await withStats(async () => {
    const bad: string[] = []
    for (const { label, id, value } of forgedHeaders()) {
      bad.push(...violations(await send(apps.header, label, { [HEADER]: value }), id, 0))
    }
    return bad
  })
  expect(result).toEqual([])
  expect(stats).toEqual({})
  expect(added).toEqual([])
})

it('header: forged signatures emit session:invalid', async () => {
  const silent: string[] = []
  for (const { label, value } of forgedHeaders()) {
    const o = await send(apps.header, label, { [HEADER]: value })
    if (o.invalid !== 1) silent.push(label)
  }
  expect(silent).toEqual([])
})

it('cookie and header: unknown well-formed ids cost one HGETALL each, create no key, are never adopted', async () => {
  const n = 15
  const { result, stats, added } = await withStats(async () => {
    const bad: string[] = []
    for (let i = 0; i < n; i++) {
      const id = randomId()
      for (const [probe, headers] of [
        [apps.cookie, { Cookie: cookieFor(id) }],
        [apps.cookieUnsigned, { Cookie: `${COOKIE}=${id}` }],
        [apps.header, { [HEADER]: headerFor(HEADER, id) }],
        [apps.header, { [HEADER]: headerFor(HEADER, id, APP_KEYS[1]) }],
        [apps.headerUnsigned, { [HEADER]: id }],
      ] as const) {
        const o = await send(probe, `unknown ${i}`, headers)
        bad.push(...violations(o, id, 1))
        if (o.missed !== 1) bad.push(`unknown ${i}: no session:missed`)
        if (o.invalid !== 0) bad.push(`unknown ${i}: session:invalid for a well-formed id`)
      }
    }
    return bad
  })
  expect(result).toEqual([])
  // One native HGETALL per request that finds nothing, no script, and no write at all.
  expect(stats).toEqual({ hgetall: n * 5 })
  expect(added).toEqual([])
})

it('cookie (custom genid + prefix): values outside the custom alphabet cost zero Redis commands; none is adopted', async () => {
  const custom = /^app:[A-Za-z0-9_.:~-]{16,256}$/
  const values = [
    ...COOKIE_VALUES.map((v) => ({ label: v.label, value: `app:${v.value}` })),
    ...COOKIE_VALUES.filter((_, i) => i % SAMPLE === 0).map((v) => ({
      label: `${v.label} (no prefix)`,
      value: v.value,
    })),
  ]
  let wellFormed = 0
  const { result, stats, added } = await withStats(async () => {
    const bad: string[] = []
    for (const { label, value } of values) {
      const arrived = value.replace(/[ \t]+$/, '')
      const expected = custom.test(arrived) ? 1 : 0
      wellFormed += expected
      const o = await send(apps.customId, label, { Cookie: `${COOKIE}=${value}` })
      if (o.status >= 500) bad.push(`${label}: status ${o.status}`)
      if (o.calls.length !== expected)
        bad.push(`${label}: ${o.calls.length} Redis calls, expected ${expected}`)
      if (o.body.isNew !== true || o.issued === value || !custom.test(o.issued ?? ''))
        bad.push(`${label}: adopted`)
      if (expected === 0 && value.trim() !== '' && value !== '""' && o.invalid !== 1)
        bad.push(`${label}: no session:invalid`)
    }
    return bad
  })
  expect(result).toEqual([])
  expect(stats).toEqual(wellFormed === 0 ? {} : { hgetall: wellFormed })
  expect(added).toEqual([])
})

it('raw HTTP: control characters, bare CR/LF, NUL and header-line injection never yield a 5xx or a Redis command', async () => {
  const server = apps.cookie.server
  const headerServer = apps.header.server
  const statuses = new Set<number>()
  {
    const { result, stats, added } = await withStats(async () => {
      const bad: string[] = []
      const id = randomId()
      const heads: [string, string][] = [
        ...RAW_ONLY.map(({ label, value }) => [label, `Cookie: ${COOKIE}=${value}`] as [string, string]),
        ...RAW_ONLY.map(
          ({ label, value }) => [`${label} (header)`, `${HEADER}: ${value}`] as [string, string],
        ),
        ['NUL in cookie', `Cookie: ${COOKIE}=${id.slice(0, 20)}\x00${id.slice(21)}`],
        ['bare CR', `Cookie: ${COOKIE}=${id}\rSet-Cookie: evil=1`],
        ['bare LF', `Cookie: ${COOKIE}=${id}\nSet-Cookie: evil=1`],
        ['CRLF injected line', `Cookie: ${COOKIE}=${id}\r\nX-Injected: 1`],
        ['obs-fold', `Cookie: ${COOKIE}=\r\n ${id}`],
        ['DEL char', `Cookie: ${COOKIE}=${id}\x7f`],
        ['oversized header (20 KB)', `Cookie: ${COOKIE}=${'A'.repeat(20_000)}`],
        ['2 000 cookies', `Cookie: ${Array.from({ length: 2_000 }, (_, i) => `c${i}=1`).join('; ')}`],
      ]
      for (const [label, line] of heads) {
        for (const s of label.endsWith('(header)') ? [headerServer] : [server, headerServer]) {
          const raw = await rawRequest(s, `GET / HTTP/1.1\r\nHost: x\r\n${line}`)
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0)
          statuses.add(status)
          if (status === 0 || status >= 500) bad.push(`${label}: status ${status}`)
          if (/^x-injected|^set-cookie: evil/im.test(raw)) bad.push(`${label}: injected header echoed`)
          if (status === 200 && !raw.includes(`${COOKIE}=`) && !raw.toLowerCase().includes(`${HEADER}:`))
            bad.push(`${label}: 200 without a fresh id`)
          if (raw.includes(id)) bad.push(`${label}: attacker id reflected`)
        }
      }
      return bad
    })
    expect(result).toEqual([])
    expect(stats).toEqual({})
    expect(added).toEqual([])
    // Both paths ran: Node's parser refused some (400, 431), the app answered the rest.
    expect([...statuses].sort()).toEqual([200, 400, 431])
  }
})

it('cookie: the live session stays readable with its own signed cookie after the whole barrage', async () => {
  apps.cookie.events.reset()
  const res = await request(apps.cookie.server).get('/').set('Cookie', cookieFor(stored))
  expect(res.status).toBe(200)
  expect(res.body).toEqual({ isNew: false, id: stored, keys: ['owner'] })
  expect(await keysUnder(redis.port, KS)).toHaveLength(1)
})
