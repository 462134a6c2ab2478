// The second outside review ("trust at the edges"), each finding tried as an attacker or an unlucky
// app would, against real redis-server processes: a lazy logout, an object userId, echoed command
// arguments, unbounded sessions, a shortened maxAge and its index, corrupt data under koa-session.
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { inspect } from 'node:util'
import Koa from 'koa'
import request from 'supertest'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { hashId } from '../../src/id.js'
import { MemoryStore, RedisStore, SessionError, session } from '../../src/index.js'
import { type RedisServer, sendCommand, startCluster, startRedis } from '../redis-servers.js'
import {
  cookieFor,
  cookieId,
  fileStores,
  gate,
  keysUnder,
  makeApp,
  randomId,
  replay,
  sess,
} from './support.js'

const port = inject('redisPort')
const raw = (...args: (string | number)[]) => sendCommand(port, args.map(String))
const { make: redisStore, keep } = fileStores(port, 'edges')

describe('a lazy logout ends the stored session', () => {
  it('lazy: ctx.session = null before loadSession() deletes the session; the copied cookie is dead', async () => {
    const store = redisStore()
    const { app } = makeApp(
      { store, lazy: true, userId: (s) => s.user as string | undefined },
      async (ctx) => {
        if (ctx.path === '/login') {
          await ctx.loadSession()
          sess(ctx).user = 'alice'
        } else if (ctx.path === '/logout') {
          // The natural logout route, written without a load first.
          ctx.session = null
        } else {
          await ctx.loadSession()
        }
        ctx.body = { user: ctx.session?.user ?? null }
      },
    )
    const login = await request(app.callback()).get('/login')
    const id = cookieId(login) as string
    const copied = replay(login)
    expect(await keysUnder(port, store.keySchema)).toHaveLength(2) // the session and alice's index
    const logout = await request(app.callback()).get('/logout').set('Cookie', copied)
    expect(logout.status).toBe(200)
    expect(cookieId(logout)).toBe('')
    expect(await raw('EXISTS', store.key(id))).toBe(0)
    expect(await store.listSessions('alice')).toEqual([])
    // An attacker who copied the cookie before the logout gets nothing.
    expect((await request(app.callback()).get('/').set('Cookie', copied)).body).toEqual({ user: null })
    expect(await keysUnder(port, store.keySchema)).toEqual([])
  })

  it('lazy: a logout with Redis down answers 503 and keeps the cookie (fail closed, never a 200 over a live session)', async () => {
    const server = await startRedis()
    try {
      const store = new RedisStore({ port: server.port, timeout: 300, keySchema: 'lazy-down:' })
      keep(store)
      const { app } = makeApp({ store, lazy: true, failOpen: true }, async (ctx) => {
        if (ctx.path === '/logout') ctx.session = null
        else {
          await ctx.loadSession()
          sess(ctx).views = 1
        }
        ctx.body = 'ok'
      })
      const created = await request(app.callback()).get('/')
      await server.kill('SIGKILL')
      const logout = await request(app.callback()).get('/logout').set('Cookie', replay(created))
      expect(logout.status).toBe(503)
      expect(logout.headers['set-cookie']).toBeUndefined()
    } finally {
      await server.stop()
    }
  })
})

describe('a userId must name one user', () => {
  const passportShape = (s: Record<string, unknown>) =>
    (s.passport as { user?: unknown } | undefined)?.user as string | undefined

  it("userId: an object (passport's serializeUser shape) is a SessionError naming userId; no index is merged", async () => {
    const store = redisStore()
    const { app, events } = makeApp({ store, userId: passportShape }, async (ctx) => {
      const name = ctx.query.name as string
      sess(ctx).passport = { user: { id: name, username: name } }
      ctx.body = 'ok'
    })
    for (const name of ['alice', 'bob']) {
      const res = await request(app.callback()).get(`/?name=${name}`)
      expect(res.status).toBe(500)
    }
    const [err] = events.errors as SessionError[]
    expect(SessionError.is(err)).toBe(true)
    expect(err?.code).toBe('INVALID_VALUE')
    expect(err?.message).toMatch(/`userId` returned must be a string or a finite number, received an object/)
    // The user record is not repeated in the message.
    expect(inspect(err, { depth: 10 })).not.toMatch(/alice|bob/)
    // Nothing was written: no "[object Object]" index holding everyone.
    expect(await keysUnder(port, store.keySchema)).toEqual([])
    expect(await store.listSessions('[object Object]')).toEqual([])
  })

  it('userId: strings and finite numbers name users (1 and "1" are one user); arrays, NaN, booleans are refused', async () => {
    const store = redisStore()
    let user: unknown
    const { app, events } = makeApp({ store, userId: () => user as string }, async (ctx) => {
      sess(ctx).n = 1
      ctx.body = 'ok'
    })
    for (const [value, status] of [
      [1, 200],
      ['1', 200],
      [['a'], 500],
      [Number.NaN, 500],
      [Number.POSITIVE_INFINITY, 500],
      [true, 500],
      [{ toString: () => 'alice' }, 500],
    ] as const) {
      user = value
      expect((await request(app.callback()).get('/')).status).toBe(status)
    }
    expect(await store.listSessions(1)).toHaveLength(2)
    expect(events.errors.map((e) => (e as Error).message.match(/received ([^;]+);/)?.[1])).toEqual([
      'an array',
      'NaN',
      'Infinity',
      'a boolean',
      'an object',
    ])
  })

  for (const [name, make] of [
    ['RedisStore', () => redisStore()],
    ['MemoryStore', () => new MemoryStore()],
  ] as const) {
    it(`${name}: listSessions, destroySession({ userId }) and destroyUserSessions refuse an object or no user`, async () => {
      const store = make()
      const bad = { id: 'alice' } as unknown as string
      const calls: (() => Promise<unknown>)[] = [
        () => store.listSessions(bad),
        () => store.destroySession(`abc${hashId('x')}`, { userId: bad }),
        () => store.destroyUserSessions(bad),
        () => store.listSessions(undefined as unknown as string),
        () => store.destroyUserSessions('' as string),
      ]
      for (const call of calls) {
        const err = await Promise.resolve()
          .then(call)
          .then(
            () => undefined,
            (e: unknown) => e,
          )
        expect(SessionError.is(err)).toBe(true)
        expect((err as SessionError).code).toBe('INVALID_VALUE')
        expect((err as Error).message).toMatch(/listSessions|destroySession|destroyUserSessions/)
      }
    })
  }
})

describe('Redis never echoes command arguments into an error', () => {
  let server: RedisServer
  beforeAll(async () => {
    // A server whose admin disabled scripting, as some managed services do.
    server = await startRedis({
      args: ['--rename-command', 'EVALSHA', 'EVALSHA_OFF_7f3a', '--rename-command', 'EVAL', 'EVAL_OFF_7f3a'],
    })
  })
  afterAll(async () => {
    await server?.stop()
  })

  for (const hashIds of [true, false]) {
    it(`EVALSHA disabled (hashIds: ${hashIds}): the 503 names the cause, never the key, a field or the id`, async () => {
      const store = new RedisStore({ port: server.port, keySchema: 'renamed:', hashIds })
      keep(store)
      const { app, events } = makeApp({ store }, async (ctx) => {
        sess(ctx).secretField = 'secret-value-that-must-not-leak'
        ctx.body = 'ok'
      })
      const id = randomId()
      const res = await request(app.callback()).get('/').set('Cookie', cookieFor(id))
      expect(res.status).toBe(503)
      const err = events.errors[0] as SessionError
      expect(err.code).toBe('STORE_UNAVAILABLE')
      expect(err.message).toMatch(/while saving the session: ERR: the server does not know a command/)
      const shown = inspect(err, { depth: 10, showHidden: true })
      expect(shown).not.toMatch(/args beginning with|secretField|secret-value|renamed:/)
      // No id, key hash or script sha: nothing id-shaped at all.
      expect(shown).not.toMatch(/[A-Za-z0-9_-]{40,}/)
    })
  }
})

describe('a new key never lives on without expiry', () => {
  let server: RedisServer
  beforeAll(async () => {
    // PEXPIRE out of reach (renamed here; an ACL that denies it acts the same): a new session's
    // fields are written before its TTL, which then fails.
    server = await startRedis({ args: ['--rename-command', 'PEXPIRE', 'PEXPIRE_OFF_7f3a'] })
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('PEXPIRE refused: a new session and a login answer 503, and leave no key behind (none without a TTL)', async () => {
    const store = keep(new RedisStore({ port: server.port, keySchema: 'noexpire:' }))
    const { app, events } = makeApp({ store, userId: (s) => s.user as string | undefined }, async (ctx) => {
      sess(ctx).views = 1
      if (ctx.path === '/login') sess(ctx).user = 'alice'
      ctx.body = 'ok'
    })
    expect((await request(app.callback()).get('/')).status).toBe(503)
    expect((await request(app.callback()).get('/login')).status).toBe(503)
    expect(events.errors.map((e) => (e as SessionError).code)).toEqual([
      'STORE_UNAVAILABLE',
      'STORE_UNAVAILABLE',
    ])
    expect(await sendCommand(server.port, ['KEYS', '*'])).toEqual([])
  })
})

describe('a new key never lives on without expiry, even where DEL is denied', () => {
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis()
    // An app user allowed reads, hashes and scripts, but neither PEXPIRE nor DEL.
    await sendCommand(server.port, ['ACL', 'SETUSER', 'app', 'on', '>app-pw', '~*', '&*', '+@read', '+@hash'])
    await sendCommand(server.port, ['ACL', 'SETUSER', 'app', '+@scripting', '+@connection'])
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('PEXPIRE and DEL denied: a new session and a login answer 503, and leave no key behind', async () => {
    const store = keep(
      new RedisStore({ port: server.port, username: 'app', password: 'app-pw', keySchema: 'acl:' }),
    )
    const { app } = makeApp({ store, userId: (s) => s.user as string | undefined }, async (ctx) => {
      sess(ctx).views = 1
      if (ctx.path === '/login') sess(ctx).user = 'alice'
      ctx.body = 'ok'
    })
    expect((await request(app.callback()).get('/')).status).toBe(503)
    expect((await request(app.callback()).get('/login')).status).toBe(503)
    expect(await sendCommand(server.port, ['KEYS', '*'])).toEqual([])
  })
})

describe('session size is bounded before anything reaches Redis', () => {
  it('maxKeys: 80,000 top-level keys from a JSON body is a SessionError naming the limit, not a RangeError 500', async () => {
    const store = redisStore()
    const { app, events } = makeApp({ store }, async (ctx) => {
      const body: Record<string, number> = {}
      for (let i = 0; i < 80_000; i++) body[`k${i}`] = i
      ctx.session = JSON.parse(JSON.stringify(body))
      ctx.body = 'ok'
    })
    const res = await request(app.callback()).get('/')
    expect(res.status).toBe(500)
    const err = events.errors[0] as SessionError
    expect(SessionError.is(err)).toBe(true)
    expect(err.code).toBe('INVALID_VALUE')
    expect(err.message).toMatch(/80000 top-level keys, over the limit `maxKeys` \(256\)/)
    expect(await keysUnder(port, store.keySchema)).toEqual([])
  })

  it('maxBytes: a value past the limit is refused on create and on update; a session just under it is saved', async () => {
    const store = redisStore()
    const { app, events } = makeApp({ store, maxBytes: 10_000, maxKeys: 5 }, async (ctx) => {
      const size = Number(ctx.query.size)
      sess(ctx).blob = 'x'.repeat(size)
      ctx.body = 'ok'
    })
    // {"blob": "x…"}: 4 bytes of name and 2 of quotes around the value.
    const ok = await request(app.callback()).get(`/?size=${10_000 - 6}`)
    expect(ok.status).toBe(200)
    const over = await request(app.callback()).get('/?size=9995').set('Cookie', replay(ok))
    expect(over.status).toBe(500)
    expect((events.errors[0] as Error).message).toMatch(
      /10001 bytes of JSON, over the limit `maxBytes` \(10000\)/,
    )
    // The stored session is the one that fit, untouched.
    const [stored] = await keysUnder(port, store.keySchema)
    expect(String(await raw('HGET', stored as string, 'blob'))).toHaveLength(10_000 - 4)
    const fresh = await request(app.callback()).get('/?size=20000')
    expect(fresh.status).toBe(500)
    expect(await keysUnder(port, store.keySchema)).toHaveLength(1)
  })

  it('maxKeys / maxBytes: bad values are refused at session(...) naming the option', () => {
    expect(() => session({ maxKeys: 0, store: new MemoryStore() })).toThrow(
      /`maxKeys` must be a positive integer, received 0/,
    )
    expect(() => session({ maxBytes: 1.5, store: new MemoryStore() })).toThrow(
      /`maxBytes` must be a positive integer, received 1.5/,
    )
  })
})

describe("the user index follows its sessions' lifetimes", () => {
  it('ctx.session.maxAge shortened: the index TTL shrinks with the only session (no 30-day index left behind)', async () => {
    const store = redisStore()
    const { app } = makeApp(
      { store, maxAge: 30 * 86_400_000, userId: (s) => s.user as string | undefined },
      async (ctx) => {
        if (ctx.path === '/login') sess(ctx).user = 'carol'
        else sess(ctx).maxAge = 60_000
        ctx.body = 'ok'
      },
    )
    const login = await request(app.callback()).get('/login')
    const index = (await keysUnder(port, `${store.keySchema}u:`))[0] as string
    expect(Number(await raw('PTTL', index))).toBeGreaterThan(29 * 86_400_000)
    await request(app.callback()).get('/shorten').set('Cookie', replay(login))
    const sessionTtl = Number(await raw('PTTL', store.key(cookieId(login) as string)))
    const indexTtl = Number(await raw('PTTL', index))
    expect(sessionTtl).toBeLessThanOrEqual(60_000)
    expect(indexTtl).toBeLessThanOrEqual(60_000)
    expect(indexTtl).toBeGreaterThan(0)
  })
})

describe('koa-session contract on corrupt data', () => {
  it('RedisStore.get: a field that is not JSON is a miss (null), never a SyntaxError quoting the value', async () => {
    const store = redisStore()
    const id = randomId()
    await store.set(id, { a: 1 }, 60_000)
    await raw('HSET', store.key(id), 'a', '{not json: secret-token')
    await expect(store.get(id, 60_000)).resolves.toBeNull()
  })
})

describe('weak app.keys', () => {
  it('app.keys shorter than 16 bytes draw one process warning, without the key', async () => {
    const warnings: Error[] = []
    const onWarning = (w: Error) => warnings.push(w)
    process.on('warning', onWarning)
    try {
      const app = new Koa()
      app.keys = ['short-secret']
      session({ store: new MemoryStore() }, app)
      session({ store: new MemoryStore() }, app)
      await new Promise((resolve) => setImmediate(resolve))
      const ours = warnings.filter((w) => (w as { code?: string }).code === 'KOA_SESSION_REDIS3_WEAK_KEY')
      // Once per process (this file's modules are its own: the other apps here use 16-byte keys).
      expect(ours).toHaveLength(1)
      expect(ours[0]?.message).toMatch(/app.keys\[0\] is shorter than 16 bytes/)
      expect(ours[0]?.message).not.toContain('short-secret')
    } finally {
      process.off('warning', onWarning)
    }
  })
})

describe('a Redis that may evict keys', () => {
  // Under an LRU policy the index of a user's sessions, written at login and read rarely, goes first,
  // and "log out everywhere" then misses the sessions that live on (found by a review). The store says
  // so once, on first use.
  const evictionWarnings = async (args: string[], use: (store: RedisStore) => Promise<unknown>) => {
    const server = await startRedis({ args })
    const warnings: Error[] = []
    const onWarning = (w: Error) => warnings.push(w)
    process.on('warning', onWarning)
    try {
      const store = new RedisStore({ port: server.port, keySchema: 'evict:' })
      try {
        await use(store)
        // The check is one CONFIG GET sent beside the first command; a PING after it is answered after it.
        await store.ready()
        await new Promise((resolve) => setImmediate(resolve))
      } finally {
        await store.close()
      }
      return warnings.filter((w) => (w as { code?: string }).code === 'KOA_SESSION_REDIS3_EVICTION')
    } finally {
      process.off('warning', onWarning)
      await server.stop()
    }
  }
  const load = (store: RedisStore) =>
    store.load(randomId(), { now: Date.now(), ttl: 60_000, absoluteTimeout: 0 })

  for (const policy of ['allkeys-lru', 'volatile-lru'] as const) {
    it(`maxmemory-policy ${policy}: one process warning that names the policy and the fix`, async () => {
      const warnings = await evictionWarnings(
        ['--maxmemory', '64mb', '--maxmemory-policy', policy],
        async (s) => {
          await load(s)
          await load(s)
        },
      )
      expect(warnings).toHaveLength(1)
      expect(warnings[0]?.message).toMatch(new RegExp(`maxmemory-policy ${policy}: .*destroyUserSessions`))
      expect(warnings[0]?.message).toMatch(/Set maxmemory-policy noeviction/)
    })
  }

  it('a Cluster with one evicting master: one warning, whichever master it is', async () => {
    // Asked of one node, a Cluster where one master of three evicts warned in 2 runs of 6 (a review).
    const cluster = await startCluster()
    try {
      for (const node of cluster.nodes) {
        const set = (policy: string, bytes: string) =>
          Promise.all([
            sendCommand(node.port, ['CONFIG', 'SET', 'maxmemory-policy', policy]),
            sendCommand(node.port, ['CONFIG', 'SET', 'maxmemory', bytes]),
          ])
        await set('allkeys-lru', '64mb')
        const warnings: Error[] = []
        const onWarning = (w: Error) => {
          if ((w as { code?: string }).code === 'KOA_SESSION_REDIS3_EVICTION') warnings.push(w)
        }
        process.on('warning', onWarning)
        const store = new RedisStore({ cluster: cluster.startupNodes, keySchema: 'evict:' })
        try {
          expect(await load(store)).toBeNull()
          for (let waited = 0; warnings.length === 0 && waited < 5_000; waited += 10) await sleep(10)
          await store.ready()
          expect(warnings).toHaveLength(1)
          expect(warnings[0]?.message).toMatch(/maxmemory-policy allkeys-lru/)
        } finally {
          process.off('warning', onWarning)
          await store.close()
          await set('noeviction', '0')
        }
      }
    } finally {
      await cluster.stop()
    }
  }, 60_000)

  it('noeviction, no maxmemory, or CONFIG disabled: no warning, and the store works', async () => {
    expect(await evictionWarnings(['--maxmemory', '64mb', '--maxmemory-policy', 'noeviction'], load)).toEqual(
      [],
    )
    expect(await evictionWarnings(['--maxmemory-policy', 'allkeys-lru'], load)).toEqual([])
    const disabled = [
      '--maxmemory',
      '64mb',
      '--maxmemory-policy',
      'allkeys-lru',
      '--rename-command',
      'CONFIG',
      '',
    ]
    expect(await evictionWarnings(disabled, async (s) => expect(await load(s)).toBeNull())).toEqual([])
  })
})

describe('second pass: limits across parallel requests, carriers, revokes', () => {
  for (const kind of ['RedisStore', 'MemoryStore'] as const) {
    it(`${kind}: 20 parallel requests each within maxKeys cannot together store more than maxKeys keys`, async () => {
      const store = kind === 'RedisStore' ? redisStore() : keep(new MemoryStore())
      const { app, events } = makeApp({ store, maxKeys: 50 }, async (ctx) => {
        const batch = Number(ctx.query.batch)
        for (let i = 0; i < 40; i++) sess(ctx)[`b${batch}k${i}`] = i
        ctx.body = 'ok'
      })
      const first = await request(app.callback()).get('/?batch=-1')
      const cookie = replay(first)
      const replies = await Promise.all(
        Array.from({ length: 20 }, (_, batch) =>
          request(app.callback()).get(`/?batch=${batch}`).set('Cookie', cookie),
        ),
      )
      const refused = replies.filter((r) => r.status === 500).length
      expect(refused).toBeGreaterThan(0)
      for (const err of events.errors) {
        expect((err as SessionError).code).toBe('INVALID_VALUE')
        expect((err as Error).message).toMatch(/`maxKeys` \(50\)/)
      }
      const id = cookieId(first) as string
      if (store instanceof RedisStore) {
        const fields = (await raw('HKEYS', store.key(id))) as string[]
        expect(fields.filter((f) => !f.startsWith('_')).length).toBeLessThanOrEqual(50)
      } else {
        const fields = await store.load(id, { now: Date.now(), ttl: 60_000, absoluteTimeout: 0 })
        expect(Object.keys(fields as object).filter((f) => !f.startsWith('_')).length).toBeLessThanOrEqual(50)
      }
    })
  }

  for (const kind of ['RedisStore', 'MemoryStore'] as const) {
    it(`${kind}: 40 parallel requests that each add one key stop at exactly maxKeys, and the session lives on`, async () => {
      // The cap counts data keys only: counted with the metadata beside them, a few keys over the
      // limit got in, and the next load ended the session as too large.
      const store = kind === 'RedisStore' ? redisStore() : keep(new MemoryStore())
      const { app } = makeApp({ store, maxKeys: 20 }, async (ctx) => {
        sess(ctx)[`k${ctx.query.k}`] = 1
        ctx.body = Object.keys(sess(ctx)).length
      })
      const first = await request(app.callback()).get('/?k=first')
      const cookie = replay(first)
      const replies = await Promise.all(
        Array.from({ length: 40 }, (_, k) => request(app.callback()).get(`/?k=${k}`).set('Cookie', cookie)),
      )
      expect(replies.filter((r) => r.status === 200).length).toBe(19)
      const next = await request(app.callback()).get('/?k=first').set('Cookie', cookie)
      expect(next.status).toBe(200)
      expect(next.text).toBe('20')
    })
  }

  for (const kind of ['RedisStore', 'MemoryStore'] as const) {
    it(`${kind}: a key written back after another request deleted it and filled the cap is refused; the session lives on`, async () => {
      // A holds k0 in its snapshot and changes it (a counter); meanwhile B deletes k0 and adds `fresh`,
      // staying at the cap. A's write must not take the session past the cap, which the next load
      // would punish by ending the whole session (found by a review: the cap was only checked on a
      // write that added keys to its own snapshot).
      const store = kind === 'RedisStore' ? redisStore() : keep(new MemoryStore())
      const hold = gate()
      let loaded = (): void => undefined
      const aLoaded = new Promise<void>((resolve) => {
        loaded = resolve
      })
      const { app, events } = makeApp({ store, maxKeys: 5 }, async (ctx) => {
        const s = sess(ctx)
        if (ctx.path === '/init') for (let i = 0; i < 5; i++) s[`k${i}`] = 0
        if (ctx.path === '/a') {
          s.k0 = 1
          loaded()
          await hold.promise
        }
        if (ctx.path === '/b') {
          delete s.k0
          s.fresh = 1
        }
        ctx.body = Object.keys(s).sort().join(',')
      })
      const first = await request(app.callback()).get('/init')
      const cookie = replay(first)
      const a = request(app.callback())
        .get('/a')
        .set('Cookie', cookie)
        .then((r) => r)
      await aLoaded
      expect((await request(app.callback()).get('/b').set('Cookie', cookie)).status).toBe(200)
      hold.open()
      const refused = await a
      expect(refused.status).toBe(500)
      expect((events.errors[0] as SessionError).code).toBe('INVALID_VALUE')
      expect((events.errors[0] as Error).message).toMatch(/`maxKeys` \(5\)/)
      const next = await request(app.callback()).get('/read').set('Cookie', cookie)
      expect(next.status).toBe(200)
      expect(next.text).toBe('fresh,k1,k2,k3,k4')
      expect(events.invalid).toBe(0)
    })
  }

  const racers = [
    ['RedisStore', 'plain', false],
    ['RedisStore', 'sealed', false],
    ['RedisStore', 'sealed', true],
    ['MemoryStore', 'plain', false],
    ['MemoryStore', 'sealed', true],
  ] as const
  for (const [kind, values, loggedIn] of racers) {
    it(`${kind}, ${values}${loggedIn ? ', logged in' : ''}: 3 parallel requests that each add 700 bytes under maxBytes 1000: one is saved, the session stays writable`, async () => {
      // Each request alone is within maxBytes; together they were 2,100 bytes, and the next load ended
      // the whole session as too large (10 of 10 before the store counted bytes). Sealed, a loose bound
      // on ciphertext let 11 of 20 in, and every later change was refused (found by a review).
      const store = kind === 'RedisStore' ? redisStore() : keep(new MemoryStore())
      const hold = gate()
      let arrived = 0
      let all = (): void => undefined
      const loaded = new Promise<void>((resolve) => {
        all = resolve
      })
      const options = {
        store,
        maxBytes: 1000,
        ...(values === 'sealed' ? { encryptionKeys: [randomBytes(32)] } : {}),
        ...(loggedIn ? { userId: (d: Record<string, unknown>) => d.user as string | undefined } : {}),
      }
      const { app, events } = makeApp(options, async (ctx) => {
        const s = sess(ctx)
        if (ctx.path === '/init') {
          s.n = 0
          if (loggedIn) s.user = 'racer'
        } else if (ctx.path === '/bump') s.n = (s.n as number) + 1
        else {
          s[`v${ctx.query.i}`] = 'x'.repeat(700)
          if (++arrived === 3) all()
          await hold.promise
        }
        ctx.body = Object.keys(s).sort().join(',')
      })
      const cookie = replay(await request(app.callback()).get('/init'))
      const replies = Promise.all(
        [0, 1, 2].map((i) => request(app.callback()).get(`/add?i=${i}`).set('Cookie', cookie)),
      )
      await loaded
      hold.open()
      const statuses = (await replies).map((r) => r.status).sort()
      expect(statuses).toEqual([200, 500, 500])
      for (const err of events.errors) {
        expect((err as SessionError).code).toBe('INVALID_VALUE')
        expect((err as Error).message).toMatch(/more bytes of JSON than the limit `maxBytes` \(1000\)/)
      }
      const next = await request(app.callback()).get('/bump').set('Cookie', cookie)
      expect(next.status).toBe(200)
      expect(next.text).toMatch(loggedIn ? /^n,user,v[012]$/ : /^n,v[012]$/)
      expect(events.invalid).toBe(0)
    })
  }

  for (const kind of ['RedisStore', 'MemoryStore'] as const) {
    it(`${kind}: a session beyond limits lowered since takes changes that do not grow it; growing it is refused`, async () => {
      // Before, every change to such a session was a 500, a logout by \`delete ctx.session.user\` too,
      // until it expired (found by a review).
      const store = kind === 'RedisStore' ? redisStore() : keep(new MemoryStore())
      const handler = async (ctx: Koa.Context) => {
        const s = sess(ctx)
        if (ctx.path === '/fill') {
          s.user = 'alice'
          for (let i = 0; i < 8; i++) s[`k${i}`] = 'x'.repeat(200)
        }
        if (ctx.path === '/bump') s.k0 = 'y'.repeat(200)
        if (ctx.path === '/shrink') s.k1 = 'short'
        if (ctx.path === '/logout') delete s.user
        if (ctx.path === '/grow') s.k2 = 'z'.repeat(300)
        if (ctx.path === '/add') s.extra = 1
        ctx.body = Object.keys(s).length
      }
      const before = makeApp({ store, maxBytes: 3000, maxKeys: 10 }, handler)
      const after = makeApp({ store, maxBytes: 1500, maxKeys: 5 }, handler)
      const cookie = replay(await request(before.app.callback()).get('/fill'))
      const call = (path: string) => request(after.app.callback()).get(path).set('Cookie', cookie)
      for (const path of ['/bump', '/shrink', '/logout']) expect((await call(path)).status, path).toBe(200)
      for (const path of ['/grow', '/add']) expect((await call(path)).status, path).toBe(500)
      expect(after.events.errors.map((e) => (e as Error).message)).toEqual([
        expect.stringMatching(/over the limit `maxBytes` \(1500\)/),
        expect.stringMatching(/over the limit `maxKeys` \(5\)/),
      ])
      const read = await request(before.app.callback()).get('/').set('Cookie', cookie)
      expect(read.text).toBe('8')
      expect(after.events.invalid).toBe(0)
    })
  }

  it('encryptionKeys: a session within maxBytes of JSON is never ended as too large by its ciphertext', async () => {
    // 200 keys of 5 bytes of JSON each (1,000 bytes) take 8,600 bytes sealed: over twice maxBytes, which
    // the load took as too large before the bound counted what sealing adds to each field.
    const store = redisStore()
    const { app, events } = makeApp(
      { store, maxBytes: 1000, encryptionKeys: [randomBytes(32)] },
      async (ctx) => {
        if (ctx.path === '/fill') for (let i = 100; i < 300; i++) sess(ctx)[`k${i}`] = 1
        ctx.body = Object.keys(ctx.session?.toJSON() ?? {}).length
      },
    )
    const fill = await request(app.callback()).get('/fill')
    expect(fill.text).toBe('200')
    const again = await request(app.callback()).get('/').set('Cookie', replay(fill))
    expect(again.status).toBe(200)
    expect(again.text).toBe('200')
    expect(events.invalid).toBe(0)
  })

  it('RedisStore.write: maxBytes refuses only a write that grows the data past it, deletions and metadata aside', async () => {
    const store = redisStore()
    const day = 86_400_000
    const base = { now: Date.now(), ttl: day, absoluteTimeout: 0 }
    const id = randomId()
    // Data: a (1 + 4) and b (1 + 4) = 10 bytes; _c is metadata.
    await store.write(id, { ...base, mode: 'create', set: { a: 'xxxx', b: 'yyyy' }, del: [] })
    const update = (set: Record<string, string>, del: string[] = [], room = 12) =>
      store.write(id, { ...base, mode: 'update', set, del, maxBytes: room })
    const data = async () => {
      const all = (await raw('HGETALL', store.key(id))) as string[]
      const out: Record<string, string> = {}
      for (let i = 0; i < all.length; i += 2)
        if (!all[i]?.startsWith('_')) out[all[i] as string] = all[i + 1] as string
      return out
    }
    await expect(update({ c: 'z' })).resolves.toBe(true) // 12 bytes: at the cap
    await expect(update({ a: 'xxxxx' })).rejects.toMatchObject({ code: 'INVALID_VALUE' }) // 13
    await expect(update({ d: 'w' })).rejects.toMatchObject({ code: 'INVALID_VALUE' }) // 14
    expect(await data()).toEqual({ a: 'xxxx', b: 'yyyy', c: 'z' })
    // Growing a while deleting b fits: 12 - 5 + 3.
    await expect(update({ a: 'xxxxxxx' }, ['b'])).resolves.toBe(true)
    // A write that does not grow the data passes even over a smaller cap (another writer's doing).
    await expect(update({ a: 'qqqqqqq' }, [], 5)).resolves.toBe(true)
    await expect(update({ _m: '9'.repeat(50) }, [], 5)).resolves.toBe(true)
    expect(await data()).toEqual({ a: 'qqqqqqq', c: 'z' })
    // Bytes, not characters: c as 'ééé' makes 15 bytes (12 characters), as 'éé' 13.
    await expect(update({ c: 'ééé' }, [], 14)).rejects.toMatchObject({ code: 'INVALID_VALUE' })
    await expect(update({ c: 'éé' }, [], 13)).resolves.toBe(true)
    // Sealed values count the JSON they hold: 44 base64url characters are 33 bytes, less 28 of IV and tag.
    const sealedId = randomId()
    await store.write(sealedId, { ...base, mode: 'create', set: { s: 'A'.repeat(44) }, del: [] })
    const sealedUpdate = (set: Record<string, string>, maxBytes: number, sealed: boolean) =>
      store.write(sealedId, { ...base, mode: 'update', set, del: [], maxBytes, sealed })
    await expect(sealedUpdate({ t: 'A'.repeat(40) }, 8, true)).rejects.toMatchObject({
      code: 'INVALID_VALUE',
    })
    await expect(sealedUpdate({ t: 'A'.repeat(40) }, 9, true)).resolves.toBe(true) // s 1 + 5, t 1 + 2
    await expect(sealedUpdate({ t: 'A'.repeat(44) }, 88, false)).rejects.toMatchObject({
      code: 'INVALID_VALUE',
    })
  })

  it('RedisStore.write: a field deleted twice, or both set and deleted, counts once against maxKeys', async () => {
    // The public write is not only the middleware's: the cap must hold for any list of deletions.
    const store = redisStore()
    const day = 86_400_000
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, '1']))
    const create = async (n: number) => {
      const id = randomId()
      await store.write(id, {
        mode: 'create',
        set: keys(n),
        del: [],
        now: Date.now(),
        ttl: day,
        absoluteTimeout: 0,
      })
      return id
    }
    const update = (id: string, set: Record<string, string>, del: string[]) =>
      store.write(id, { mode: 'update', set, del, now: Date.now(), ttl: day, absoluteTimeout: 0, maxKeys: 4 })
    const dataFields = async (id: string) =>
      ((await raw('HKEYS', store.key(id))) as string[]).filter((f) => !f.startsWith('_')).sort()
    const full = await create(4)
    await expect(update(full, { x: '1', y: '1' }, ['k0', 'k0'])).rejects.toMatchObject({
      code: 'INVALID_VALUE',
    })
    expect(await dataFields(full)).toEqual(['k0', 'k1', 'k2', 'k3'])
    const roomForOne = await create(3)
    expect(await update(roomForOne, { x: '1', y: '1' }, ['x'])).toBe(true)
    expect(await dataFields(roomForOne)).toEqual(['k0', 'k1', 'k2', 'y'])
  })

  it('load: a stored session beyond twice maxKeys or twice maxBytes (planted) is ended, reported, and never served', async () => {
    const store = redisStore()
    const { app, events } = makeApp({ store, maxKeys: 10, maxBytes: 1000 }, async (ctx) => {
      ctx.body = { keys: Object.keys(ctx.session.toJSON()).length }
    })
    for (const plant of [
      (key: string) => {
        const args = [key, '_c', String(Date.now())]
        for (let i = 0; i < 21; i++) args.push(`k${i}`, '1')
        return raw('HSET', ...args)
      },
      (key: string) => raw('HSET', key, '_c', String(Date.now()), 'big', JSON.stringify('x'.repeat(2_000))),
    ]) {
      events.reset()
      const id = randomId()
      await plant(store.key(id))
      const res = await request(app.callback()).get('/').set('Cookie', cookieFor(id))
      expect(res.status).toBe(200)
      expect(res.body).toEqual({ keys: 0 })
      expect(events.invalid).toBe(1)
      expect(await raw('EXISTS', store.key(id))).toBe(0)
    }
  })

  it('header + cookie: a logout ends the session the request was read by, and clears only that carrier', async () => {
    const store = redisStore()
    const { app } = makeApp({ store, header: 'x-session-id' }, async (ctx) => {
      if (ctx.path === '/logout') ctx.session = null
      else if (ctx.query.who) sess(ctx).who = ctx.query.who
      ctx.body = { who: ctx.session?.who ?? null }
    })
    const byCookie = await request(app.callback()).get('/?who=cookie')
    const byHeader = await request(app.callback()).get('/?who=header')
    const header = byHeader.headers['x-session-id'] as string
    const logout = await request(app.callback())
      .get('/logout')
      .set('x-session-id', header)
      .set('Cookie', replay(byCookie))
    expect(logout.status).toBe(200)
    expect(logout.headers['x-session-id']).toBe('')
    // The cookie's session was not the one ended: its cookie is not cleared over it.
    expect(logout.headers['set-cookie']).toBeUndefined()
    const cookieAgain = await request(app.callback()).get('/').set('Cookie', replay(byCookie))
    expect(cookieAgain.body).toEqual({ who: 'cookie' })
    const headerAgain = await request(app.callback()).get('/').set('x-session-id', header)
    expect(headerAgain.body).toEqual({ who: null })
  })

  for (const kind of ['RedisStore', 'MemoryStore'] as const) {
    it(`${kind}.destroySession: { userId: undefined } is refused, never an unscoped revoke`, async () => {
      const store = kind === 'RedisStore' ? redisStore() : keep(new MemoryStore())
      const { app } = makeApp({ store, userId: (s) => s.user as string | undefined }, async (ctx) => {
        sess(ctx).user = 'dave'
        ctx.body = 'ok'
      })
      const res = await request(app.callback()).get('/')
      const [info] = await store.listSessions('dave')
      const err = await store
        .destroySession(info?.handle as string, { userId: undefined } as unknown as { userId: string })
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      expect((err as SessionError).code).toBe('INVALID_VALUE')
      expect(await store.listSessions('dave')).toHaveLength(1)
      expect(cookieId(res)).toBeTruthy()
    })
  }

  it('RedisStore.get: a hash without a creation time (not one of ours) is a miss, as for the middleware', async () => {
    const store = redisStore()
    const id = randomId()
    await raw('HSET', store.key(id), 'a', '1', 'b', '"x"')
    await expect(store.get(id, 60_000)).resolves.toBeNull()
  })
})
