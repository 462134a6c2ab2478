// Every file of examples/ run as a user runs it (Node, or tsx for TypeScript), against a Redis of its own.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChildApp, startChildApp } from './child-app.js'
import { freePort, type RedisServer, sendCommand, startRedis } from './redis-servers.js'

const root = join(import.meta.dirname, '..')
const apps: ChildApp[] = []
let redis: RedisServer

beforeAll(async () => {
  redis = await startRedis()
}, 30_000)

afterAll(async () => {
  for (const app of apps) app.child.kill()
  await redis?.stop()
})

/** Runs examples/<name>: `.ts` through tsx with PORT and REDIS_URL, `.mjs`/`.cjs` as written but for the ports. */
async function run(name: string): Promise<string> {
  const port = await freePort()
  let file = join(root, 'examples', name)
  const options = { env: { PORT: String(port), REDIS_URL: redis.url }, execArgv: ['--import', 'tsx'] }
  if (!name.endsWith('.ts')) {
    const code = readFileSync(file, 'utf8')
      .replace('port: 6379', `port: ${redis.port}`)
      .replace('listen(3000)', `listen(${port})`)
    // Inside the package folder, so 'koa-session-redis3' resolves to this package's build (self-reference).
    mkdirSync(join(root, 'test-results'), { recursive: true })
    file = join(root, 'test-results', `example-${name}`)
    writeFileSync(file, code)
    options.execArgv = []
  }
  const app = await startChildApp(file, port, root, options)
  apps.push(app)
  return app.base
}

/** A browser's cookie jar, in its simplest form: the last value of each cookie, cleared ones dropped. */
class Jar {
  private cookies = new Map<string, string>()
  constructor(private readonly base: string) {}

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.cookies.size > 0)
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '))
    const res = await fetch(this.base + path, { ...init, headers, redirect: 'manual' })
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';')
      const at = pair.indexOf('=')
      const [name, value] = [pair.slice(0, at), pair.slice(at + 1)]
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return res
  }

  post(path: string, form: Record<string, string> = {}): Promise<Response> {
    return this.fetch(path, { method: 'POST', body: new URLSearchParams(form) })
  }

  get session(): string | undefined {
    return this.cookies.get('koa.sess')
  }
}

async function keys(pattern: string): Promise<string[]> {
  return (await sendCommand(redis.port, ['KEYS', pattern])) as string[]
}

async function counts(base: string): Promise<string[]> {
  const jar = new Jar(base)
  const texts: string[] = []
  for (let i = 0; i < 3; i++) texts.push(await (await jar.fetch('/')).text())
  return texts
}

function readme(): string {
  return readFileSync(join(root, 'README.md'), 'utf8')
}

describe('examples', { timeout: 60_000 }, () => {
  it('first-screen.mjs: is the README first screen, and counts views under your:schema with a TTL', async () => {
    const code = readFileSync(join(root, 'examples', 'first-screen.mjs'), 'utf8')
    expect(readme()).toContain(`\`\`\`js\n${code}\`\`\``)
    expect(/```js\n([\s\S]*?)```/.exec(readme())?.[1]).toBe(code)
    expect(await counts(await run('first-screen.mjs'))).toEqual(['1 views', '2 views', '3 views'])
    const [key] = await keys('your:schema*')
    expect(key).toBeDefined()
    const ttl = (await sendCommand(redis.port, ['PTTL', key as string])) as number
    expect(ttl).toBeGreaterThan(3_500_000)
    expect(ttl).toBeLessThanOrEqual(3_600_000)
  })

  it('first-screen.cjs: is the README CommonJS form (server.js), and counts views', async () => {
    const code = readFileSync(join(root, 'examples', 'first-screen.cjs'), 'utf8')
    expect(code).toContain("const session = require('koa-session-redis3')")
    expect(readme()).toContain(`\`\`\`js\n${code}\`\`\``)
    expect(await counts(await run('first-screen.cjs'))).toEqual(['1 views', '2 views', '3 views'])
  })

  it('basic.ts: the typed first screen counts views under example:', async () => {
    expect(await counts(await run('basic.ts'))).toEqual(['1 views', '2 views', '3 views'])
    expect((await keys('example:*')).length).toBeGreaterThan(0)
  })

  it('header-mode.ts: carries the session in x-session-id, exposed to the front end origin only', async () => {
    const base = await run('header-mode.ts')
    const spa = { origin: 'http://localhost:3001' }
    const first = await fetch(base, { headers: spa })
    expect(await first.json()).toEqual({ views: 1 })
    expect(first.headers.getSetCookie()).toEqual([])
    expect(first.headers.get('access-control-allow-origin')).toBe(spa.origin)
    expect(first.headers.get('access-control-expose-headers')).toContain('x-session-id')
    const id = first.headers.get('x-session-id') as string
    expect(id).toMatch(/^[\w-]{43}\.[\w-]+$/)
    const second = await fetch(base, { headers: { ...spa, 'x-session-id': id } })
    expect(await second.json()).toEqual({ views: 2 })
    // A forged signature is not adopted: a new session starts.
    const forged = await fetch(base, { headers: { 'x-session-id': `${id.slice(0, 43)}.forged` } })
    expect(await forged.json()).toEqual({ views: 1 })
  })

  it('passport.ts: a wrong password fails; login rotates the id; logout ends the session', async () => {
    const base = await run('passport.ts')
    const jar = new Jar(base)
    expect(await (await jar.fetch('/')).text()).toBe('Not logged in')
    const guest = jar.session
    const wrong = await jar.post('/login', { username: 'alice', password: 'nope' })
    expect([wrong.status, wrong.headers.get('location')]).toEqual([302, '/?failed'])
    const unknown = await jar.post('/login', { username: 'mallory', password: 'password' })
    expect(unknown.headers.get('location')).toBe('/?failed')

    const ok = await jar.post('/login', { username: 'alice', password: 'password' })
    expect([ok.status, ok.headers.get('location')]).toEqual([302, '/'])
    const loggedIn = jar.session
    expect(loggedIn).toBeDefined()
    expect(loggedIn).not.toBe(guest)
    expect(await (await jar.fetch('/')).text()).toBe('Hello Alice')

    const cookie = `koa.sess=${loggedIn}`
    const out = await jar.post('/logout')
    expect(out.headers.get('location')).toBe('/')
    expect(jar.session).toBeUndefined()
    // The logged-in session is gone from Redis, not only from the browser: its cookie (signed) is a guest now.
    const sig = (await fetch(base, { headers: { cookie } })).status
    expect(sig).toBe(200)
    expect(await (await jar.fetch('/')).text()).toBe('Not logged in')
    expect(await keys('koa:sess:u:*')).toEqual([])
  })

  it('user-sessions.ts: lists the devices, revokes only the own ones, logs out everywhere else', async () => {
    const base = await run('user-sessions.ts')
    const login = async (username: string) => {
      const jar = new Jar(base)
      const res = await jar.post('/login', { username, password: 'password' })
      expect(res.headers.get('location')).toBe('/devices')
      return jar
    }
    const devices = async (jar: Jar) => {
      const res = await jar.fetch('/devices')
      return res.status === 200 ? ((await res.json()) as { handle: string; current: boolean }[]) : res.status
    }
    expect(await devices(new Jar(base))).toBe(401)
    const [laptop, phone, bob] = [await login('alice'), await login('alice'), await login('bob')]
    const list = await devices(laptop)
    if (typeof list === 'number') throw new Error(`GET /devices answered ${list}`)
    expect(list).toHaveLength(2)
    expect(list.filter((s) => s.current)).toHaveLength(1)
    const bobs = await devices(bob)
    if (typeof bobs === 'number') throw new Error(`GET /devices answered ${bobs}`)

    // Alice cannot end Bob's session with his handle.
    const foreign = await laptop.post('/devices/revoke', { handle: bobs[0]?.handle as string })
    expect(foreign.status).toBe(404)
    expect(await devices(bob)).toHaveLength(1)

    const other = list.find((s) => !s.current)?.handle as string
    const revoke = await laptop.post('/devices/revoke', { handle: other })
    expect(await revoke.json()).toEqual({ revoked: true })
    expect(await devices(phone)).toBe(401)
    expect((await laptop.post('/devices/revoke', { handle: other })).status).toBe(404)

    await login('alice')
    await login('alice')
    const everywhere = await laptop.post('/devices/logout-others')
    expect(await everywhere.json()).toEqual({ revoked: 2 })
    expect(await devices(laptop)).toHaveLength(1)
    expect(await devices(bob)).toHaveLength(1)
  })
})
