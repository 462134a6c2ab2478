// The `npm start` demo, in process with a MemoryStore: pages, login, sessions, the SPA's JSON API and its CORS.
import type Koa from 'koa'
import request from 'supertest'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createDemoApp, startDemo } from '../examples/demo/server.js'
import { MemoryStore } from '../src/index.js'
import {
  CHROME_LINUX,
  cookieValue,
  HEADER,
  handles,
  loggedInTo,
  SAFARI_IPHONE,
  SPA,
  views,
} from './demo-support.js'

let store: MemoryStore
let app: Koa

beforeEach(() => {
  store = new MemoryStore()
  app = createDemoApp({ store, spaOrigins: [SPA], keys: ['test key'] })
})

afterEach(() => store.close())

const loggedIn = (user = 'alice', agent = request.agent(app.callback())) => loggedInTo(agent, user)

describe('demo pages', () => {
  it('GET /: counts views in the session (1, 2, 3)', async () => {
    const agent = request.agent(app.callback())
    for (const n of [1, 2, 3]) expect(views((await agent.get('/').expect(200)).text)).toBe(n)
    expect(views((await request(app.callback()).get('/')).text)).toBe(1)
  })

  it('POST /login: logs in, rotates the session id and keeps the counter', async () => {
    const agent = request.agent(app.callback())
    const before = cookieValue(await agent.get('/'))
    const res = await agent.post('/login').type('form').send({ username: 'alice', password: 'password' })
    expect(res.status).toBe(302)
    const after = cookieValue(res)
    expect(after).toBeDefined()
    expect(after).not.toBe(before)
    const home = await agent.get('/')
    expect(views(home.text)).toBe(2)
    expect(home.text).toContain('Logged in as <b>Alice</b>')
  })

  it('POST /login: a wrong password goes back to the form with an error', async () => {
    const agent = request.agent(app.callback())
    const res = await agent.post('/login').type('form').send({ username: 'alice', password: 'nope' })
    expect(res.headers.location).toBe('/login?failed=1&username=alice')
    const form = (await agent.get(res.headers.location as string)).text
    expect(form).toContain('Wrong user name or password')
    expect(form).toContain('value="alice"')
    expect((await agent.get('/sessions')).headers.location).toBe('/login')
  })

  it('POST /login: refuses a form posted from another origin (login CSRF)', async () => {
    const res = await request(app.callback())
      .post('/login')
      .set('Origin', 'https://evil.example')
      .type('form')
      .send({ username: 'alice', password: 'password' })
    expect(res.status).toBe(403)
  })

  it('POST /logout: ends the session; the counter restarts and the old cookie is dead', async () => {
    const agent = await loggedIn()
    await agent.get('/')
    const res = await agent.post('/logout')
    expect(res.headers.location).toBe('/')
    expect(cookieValue(res)).toBe('')
    expect(views((await agent.get('/')).text)).toBe(1)
    expect(await store.count()).toBe(1)
  })

  it('GET /sessions: needs a login', async () => {
    const res = await request(app.callback()).get('/sessions')
    expect(res.status).toBe(302)
    expect(res.headers.location).toBe('/login')
  })

  it('GET /sessions: lists the devices of the user, marks this one, and revokes another', async () => {
    const laptop = await loggedIn('alice', request.agent(app.callback()).set('User-Agent', CHROME_LINUX))
    const phone = await loggedIn('alice', request.agent(app.callback()).set('User-Agent', SAFARI_IPHONE))
    await loggedIn('bob')
    const page = (await laptop.get('/sessions').expect(200)).text
    const rows = handles(page)
    expect(rows).toHaveLength(2)
    expect(rows.filter((r) => r.current)).toHaveLength(1)
    expect(page).toContain('Chrome 131 on Linux')
    expect(page).toContain('Safari 17 on iOS 17')
    expect(page).toContain('this device')

    const other = rows.find((r) => !r.current)?.handle as string
    const res = await laptop.post('/sessions/revoke').type('form').send({ handle: other })
    expect(res.headers.location).toBe('/sessions?revoked=1')
    expect(handles((await laptop.get('/sessions')).text)).toHaveLength(1)
    expect((await phone.get('/sessions')).headers.location).toBe('/login')
    expect((await phone.get('/')).text).toContain('Not logged in.')
  })

  it('POST /sessions/revoke: refuses a handle of another user', async () => {
    const alice = await loggedIn('alice')
    const bob = await loggedIn('bob')
    const bobs = handles((await bob.get('/sessions')).text)[0]?.handle as string
    const res = await alice.post('/sessions/revoke').type('form').send({ handle: bobs })
    expect(res.status).toBe(404)
    expect((await bob.get('/sessions')).status).toBe(200)
  })

  it('POST /sessions/revoke-others: logs out every other device of the user', async () => {
    const a = await loggedIn('alice')
    const b = await loggedIn('alice')
    const c = await loggedIn('alice')
    const res = await a.post('/sessions/revoke-others')
    expect(res.headers.location).toBe('/sessions?revoked=2')
    expect((await a.get('/sessions?revoked=2')).text).toContain('Logged out 2 other sessions.')
    for (const agent of [b, c]) expect((await agent.get('/sessions')).headers.location).toBe('/login')
  })
})

describe('demo JSON API (header mode)', () => {
  it('GET /api/me: carries the session in x-session-id alone', async () => {
    const first = await request(app.callback()).get('/api/me').expect(200)
    const id = first.headers[HEADER] as string
    expect(id).toMatch(/^[\w-]{43}\.[\w-]+$/)
    expect(first.body).toEqual({
      views: 1,
      user: null,
      name: null,
      sessionIdPrefix: id.slice(0, 8),
      staleId: false,
    })
    const second = await request(app.callback()).get('/api/me').set(HEADER, id).expect(200)
    expect(second.body.views).toBe(2)
    // The changed session sends its id again (as the cookie would be), never another one.
    expect(second.headers[HEADER]).toBe(id)
    const forged = await request(app.callback())
      .get('/api/me')
      .set(HEADER, `${id.slice(0, 43)}.forged`)
    expect(forged.body.views).toBe(1)
  })

  it('POST /api/login and /api/logout: rotate, then destroy, the header session', async () => {
    const guest = (await request(app.callback()).get('/api/me')).headers[HEADER] as string
    const login = await request(app.callback())
      .post('/api/login')
      .set(HEADER, guest)
      .send({ username: 'bob', password: 'password' })
      .expect(200)
    const user = login.headers[HEADER] as string
    expect(user).toBeTruthy()
    expect(user).not.toBe(guest)
    expect(login.body).toEqual({ user: 'bob', name: 'Bob', sessionIdPrefix: user.slice(0, 8) })
    expect((await request(app.callback()).get('/api/me').set(HEADER, guest)).body.user).toBeNull()
    const me = await request(app.callback()).get('/api/me').set(HEADER, user)
    expect(me.body).toMatchObject({ views: 2, user: 'bob' })

    const logout = await request(app.callback()).post('/api/logout').set(HEADER, user).expect(200)
    expect(logout.headers[HEADER]).toBe('')
    const after = await request(app.callback()).get('/api/me').set(HEADER, user)
    expect(after.body).toMatchObject({ views: 1, user: null })
    expect(after.headers[HEADER]).not.toBe(user)
  })

  it('GET /api/me: staleId tells the SPA that the id it sent is no live session any more', async () => {
    const api = () => request(app.callback()).get('/api/me')
    const login = async () =>
      (await request(app.callback()).post('/api/login').send({ username: 'alice', password: 'password' }))
        .headers[HEADER] as string
    const live = await login()
    expect((await api().set(HEADER, live)).body).toMatchObject({ user: 'alice', staleId: false })
    expect((await api()).body.staleId).toBe(false)

    // Revoked from another device: the id is dead, the answer is a guest under a new id, and says so.
    expect(await store.destroyUserSessions('alice')).toBe(1)
    const revoked = await api().set(HEADER, live)
    expect(revoked.body).toMatchObject({ views: 1, user: null, staleId: true })
    const fresh = revoked.headers[HEADER] as string
    expect(fresh.slice(0, 43)).not.toBe(live.slice(0, 43))
    expect((await api().set(HEADER, fresh)).body).toMatchObject({ views: 2, staleId: false })

    // Expired (the store forgot it) and logged out are the same to the client: not live.
    await store.remove(fresh.slice(0, 43))
    expect((await api().set(HEADER, fresh)).body).toMatchObject({ views: 1, staleId: true })
    const other = await login()
    await request(app.callback()).post('/api/logout').set(HEADER, other).expect(200)
    expect((await api().set(HEADER, other)).body).toMatchObject({ user: null, staleId: true })
  })

  it('POST /api/login: 401 on wrong credentials, 415 unless JSON, 400 on malformed JSON', async () => {
    const api = () => request(app.callback()).post('/api/login')
    await api().send({ username: 'alice', password: 'x' }).expect(401)
    await api().type('form').send({ username: 'alice', password: 'password' }).expect(415)
    await api().set('Content-Type', 'application/json').send('{"username":').expect(400)
  })

  it('CORS: the preflight is answered for the SPA origin only, and x-session-id is exposed', async () => {
    const preflight = (origin: string) =>
      request(app.callback())
        .options('/api/login')
        .set('Origin', origin)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'content-type,x-session-id')
    const ok = await preflight(SPA).expect(204)
    expect(ok.headers['access-control-allow-origin']).toBe(SPA)
    expect(ok.headers['access-control-allow-headers']).toContain(HEADER)
    expect(ok.headers['access-control-allow-credentials']).toBeUndefined()
    const evil = await preflight('https://evil.example')
    expect(evil.headers['access-control-allow-origin']).toBeUndefined()

    const get = await request(app.callback()).get('/api/me').set('Origin', SPA)
    expect(get.headers['access-control-allow-origin']).toBe(SPA)
    expect(get.headers['access-control-expose-headers']).toContain(HEADER)
    const other = await request(app.callback()).get('/api/me').set('Origin', 'https://evil.example')
    expect(other.headers['access-control-allow-origin']).toBeUndefined()
  })
})

describe('startDemo', () => {
  it('falls back to a MemoryStore when no Redis answers, and serves the SPA with the API origin', async () => {
    const lines: string[] = []
    const demo = await startDemo({
      redisUrl: 'redis://127.0.0.1:1',
      port: 0,
      spaPort: 0,
      keys: ['k'],
      log: (l) => lines.push(l),
    })
    try {
      expect(lines.join('\n')).toContain(
        'No Redis at redis://127.0.0.1:1: using the in-memory store; sessions are lost on restart',
      )
      expect(demo.store).toBeInstanceOf(MemoryStore)
      expect(demo.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const spa = await request(demo.spaUrl).get('/').expect(200)
      expect(spa.text).toContain(`const API = "${demo.apiUrl}"`)
      expect(spa.headers['content-security-policy']).toContain(`connect-src ${demo.apiUrl}`)
      const lost = await request(demo.spaUrl).get('/nowhere').expect(404)
      expect(lost.text).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">')
      expect(lost.text).toContain('<a id="back" href="/">Back to the SPA</a>')
      expect(lost.text).toContain(`<a href="${demo.apiUrl}/">Back to the cookie demo</a>`)
      expect((await request(demo.apiUrl).get('/')).text).toContain('1 view<')
    } finally {
      await demo.close()
    }
  })
})
