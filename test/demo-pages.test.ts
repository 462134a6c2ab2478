// The demo's pages beyond the happy path, in process: error pages, the devices list, sessions that ended elsewhere.
import type Koa from 'koa'
import request from 'supertest'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createDemoApp } from '../examples/demo/server.js'
import { MemoryStore, RedisStore } from '../src/index.js'
import {
  CHROME_LINUX,
  cookieValue,
  expectErrorPage,
  handles,
  loggedInTo,
  SAFARI_IPHONE,
  SPA,
  visible,
} from './demo-support.js'
import { freePort } from './redis-servers.js'

let store: MemoryStore
let app: Koa

beforeEach(() => {
  store = new MemoryStore()
  app = createDemoApp({ store, spaOrigins: [SPA], keys: ['test key'] })
})

afterEach(() => store.close())

const loggedIn = (user = 'alice', agent = request.agent(app.callback())) => loggedInTo(agent, user)

describe('demo pages: error pages, devices, sessions that ended elsewhere', () => {
  it('GET /nowhere: a 404 page in the layout with a link home; /api/ answers JSON', async () => {
    const res = await request(app.callback()).get('/nowhere')
    expectErrorPage(res, 404, 'Page not found', '/')
    expect(visible(res.text)).toContain('There is no page at this address.')
    const api = await request(app.callback()).get('/api/nowhere').expect(404)
    expect(api.body).toEqual({ error: 'Page not found', detail: 'There is no page at this address.' })
  })

  it('POST /sessions/revoke: a session that already ended is a page, with a link back to the sessions', async () => {
    const laptop = await loggedIn('alice')
    const phone = await loggedIn('alice')
    const other = handles((await laptop.get('/sessions')).text).find((r) => !r.current)?.handle as string
    await laptop.post('/sessions/revoke').type('form').send({ handle: other }).expect(302)
    // The same button again (another tab still showing the old list): the session is gone.
    const again = await laptop.post('/sessions/revoke').type('form').send({ handle: other })
    expectErrorPage(again, 404, 'That session has already ended', '/sessions')
    expect(again.text).toContain('<span>Alice</span>')
    const missing = await laptop.post('/sessions/revoke').type('form').send({})
    expectErrorPage(missing, 404, 'That session has already ended', '/sessions')
    expect((await phone.get('/sessions')).status).toBe(302)
  })

  it('Redis down: a 503 page in the layout that says what happened, reported through app error', async () => {
    const down = new RedisStore({ port: await freePort(), timeout: 200 })
    const broken = createDemoApp({ store: down, spaOrigins: [SPA], keys: ['test key'] })
    const errors: unknown[] = []
    broken.on('error', (err) => errors.push(err))
    try {
      const res = await request(broken.callback()).get('/')
      expectErrorPage(res, 503, 'Sessions are unavailable right now', '/')
      expect(visible(res.text)).toContain('Nothing is lost: you are still logged in once it is back.')
      expect(res.text).not.toContain('ECONNREFUSED')
      expect(errors).toHaveLength(1)
      expect((errors[0] as { code?: string }).code).toMatch(/^STORE_(UNAVAILABLE|TIMEOUT)$/)
      const api = await request(broken.callback()).get('/api/me').expect(503)
      expect(api.body.error).toBe('Sessions are unavailable right now')
    } finally {
      await down.close()
    }
  })

  it('GET /sessions: this device first and marked, browser and OS by name, times to the second, no handles', async () => {
    const phone = await loggedIn('alice', request.agent(app.callback()).set('User-Agent', SAFARI_IPHONE))
    await loggedIn('alice', request.agent(app.callback()).set('User-Agent', CHROME_LINUX))
    await loggedIn('alice', request.agent(app.callback()).set('User-Agent', 'curl/8.5.0'))
    // The phone is the least recently active session, yet it is listed first on its own page.
    const page = (await phone.get('/sessions')).text
    const rows = handles(page)
    expect(rows.map((r) => r.current)).toEqual([true, false, false])
    const text = visible(page)
    expect(text).toMatch(
      /Last active Safari 17 on iOS 17 this device just now \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/,
    )
    expect(text).toContain('Chrome 131 on Linux just now')
    // A user agent the parser cannot name is shown as sent.
    expect(text).toContain('curl/8.5.0 just now')
    expect(text.match(/this device/g)).toHaveLength(1)
    for (const { handle } of rows) expect(text).not.toContain(handle.slice(0, 3))
    expect(text).toContain('3 active sessions')
  })

  it('a session revoked elsewhere is said on the next page, whichever it is, then no more', async () => {
    const agent = await loggedIn('alice')
    expect(visible((await agent.get('/')).text)).not.toContain('has ended')
    await store.destroyUserSessions('alice')
    const home = (await agent.get('/')).text
    expect(home).toContain('Your session as <b>Alice</b> has ended')
    expect(home).toContain('Not logged in.')
    expect((await agent.get('/')).text).not.toContain('has ended')

    // Through a redirect: /sessions sends a logged-out visitor to /login, which says it.
    const other = await loggedIn('alice')
    await store.destroyUserSessions('alice')
    const redirect = await other.get('/sessions')
    expect(redirect.headers.location).toBe('/login')
    const login = (await other.get('/login')).text
    expect(login).toContain('Your session as <b>Alice</b> has ended')
    expect((await other.get('/login')).text).not.toContain('has ended')

    // Expired: the store no longer has it (as after its TTL), and the page says so the same way.
    const bob = request.agent(app.callback())
    const res = await bob.post('/login').type('form').send({ username: 'bob', password: 'password' })
    await store.remove(cookieValue(res) as string)
    expect((await bob.get('/')).text).toContain('Your session as <b>Bob</b> has ended')
  })

  it('the "ended" notice trusts only its signed cookie: a forged one names nobody', async () => {
    const login = await request(app.callback())
      .post('/login')
      .type('form')
      .send({ username: 'alice', password: 'password' })
    const jar = ([] as string[]).concat(login.headers['set-cookie'] ?? []).map((c) => c.split(';')[0])
    const session = jar.filter((c) => c.startsWith('koa.sess')).join('; ')
    const hint = jar.filter((c) => c.startsWith('demo.was')).join('; ')
    expect(hint).toMatch(/^demo\.was=alice; demo\.was\.sig=/)
    await store.destroyUserSessions('alice')
    const get = (cookie: string) => request(app.callback()).get('/').set('Cookie', cookie)
    // The real hint says it; a hint without its signature, or with a wrong one, says nothing.
    expect((await get(`${session}; ${hint}`)).text).toContain('Your session as <b>Alice</b> has ended')
    for (const forged of ['demo.was=bob', 'demo.was=bob; demo.was.sig=forged']) {
      expect((await get(`${session}; ${forged}`)).text).not.toContain('has ended')
    }
  })

  it('an explicit logout, and a guest, are never told that a session ended', async () => {
    const agent = await loggedIn('bob')
    await agent.post('/logout').expect(302)
    for (const path of ['/', '/login', '/']) expect((await agent.get(path)).text).not.toContain('has ended')
    const guest = request.agent(app.callback())
    await guest.get('/login')
    expect((await guest.get('/login')).text).not.toContain('has ended')
  })

  it('GET /: says "1 view", then "2 views"', async () => {
    const agent = request.agent(app.callback())
    expect((await agent.get('/')).text).toContain('<h1 id="views">1 view</h1>')
    expect((await agent.get('/')).text).toContain('<h1 id="views">2 views</h1>')
  })
})
