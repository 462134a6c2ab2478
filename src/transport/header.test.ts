import cors from '@koa/cors'
import Koa from 'koa'
import request from 'supertest'
import { describe, expect, it, vi } from 'vitest'
import { cookieHeader, cookiesOf, makeApp } from '../../test/helpers.js'
import { MemoryStore, session } from '../index.js'

const counter: Koa.Middleware = (ctx) => {
  if (ctx.path === '/logout') {
    ctx.session = null
    ctx.body = 'bye'
    return
  }
  const s = ctx.session as Record<string, unknown>
  s.views = ((s.views as number | undefined) ?? 0) + 1
  ctx.body = { views: s.views }
}

describe('header transport', () => {
  it('header: a new id is sent signed in the header and exposed to scripts', async () => {
    const app = makeApp({ store: new MemoryStore(), header: 'x-session-id' }, counter)
    const res = await request(app.callback()).get('/')
    expect(res.headers['x-session-id']).toMatch(/^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]+$/)
    expect(res.headers['access-control-expose-headers']).toBe('x-session-id')
    const again = await request(app.callback())
      .get('/')
      .set('x-session-id', res.headers['x-session-id'] as string)
    expect(again.body.views).toBe(2)
  })

  it('header: with cookie false only the header carries the id', async () => {
    const app = makeApp({ store: new MemoryStore(), header: 'x-session-id', cookie: false }, counter)
    const res = await request(app.callback()).get('/')
    expect(res.headers['set-cookie']).toBeUndefined()
    const id = res.headers['x-session-id'] as string
    expect((await request(app.callback()).get('/').set('x-session-id', id)).body.views).toBe(2)
  })

  it('header: falls back to the cookie when the header is absent', async () => {
    const app = makeApp({ store: new MemoryStore(), header: 'x-session-id' }, counter)
    const first = await request(app.callback()).get('/')
    expect((await request(app.callback()).get('/').set('Cookie', cookieHeader(first))).body.views).toBe(2)
  })

  it('header: a forged, tampered or unsigned id is never adopted and costs no store call', async () => {
    const store = new MemoryStore()
    const app = makeApp({ store, header: 'x-session-id', cookie: false }, counter)
    const first = await request(app.callback()).get('/')
    const good = first.headers['x-session-id'] as string
    const [id, sig] = good.split('.') as [string, string]
    const load = vi.spyOn(store, 'load')
    for (const bad of [
      id,
      `${id}.${sig.slice(0, -1)}${sig.endsWith('x') ? 'y' : 'x'}`,
      `${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}.${sig}`,
      `.${sig}`,
      'x'.repeat(5000),
      `${id}.${sig}.${sig}`,
    ]) {
      const res = await request(app.callback()).get('/').set('x-session-id', bad)
      expect(res.status).toBe(200)
      expect(res.body.views).toBe(1)
      expect(res.headers['x-session-id']).not.toBe(good)
    }
    expect(load).not.toHaveBeenCalled()
  })

  it('header: unsigned mode accepts a bare id', async () => {
    const app = makeApp(
      { store: new MemoryStore(), header: 'x-session-id', signed: false, cookie: false },
      counter,
    )
    const res = await request(app.callback()).get('/')
    const id = res.headers['x-session-id'] as string
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect((await request(app.callback()).get('/').set('x-session-id', id)).body.views).toBe(2)
  })

  it('header: an id signed with an older key is accepted and re-signed with the newest', async () => {
    const app = makeApp({ store: new MemoryStore(), header: 'x-session-id', cookie: false }, counter)
    const first = await request(app.callback()).get('/')
    const old = first.headers['x-session-id'] as string
    app.keys = ['key-new', 'key-one']
    const second = await request(app.callback()).get('/').set('x-session-id', old)
    expect(second.body.views).toBe(2)
    const resigned = second.headers['x-session-id'] as string
    expect(resigned.split('.')[0]).toBe(old.split('.')[0])
    expect(resigned).not.toBe(old)
    app.keys = ['key-new']
    expect((await request(app.callback()).get('/').set('x-session-id', resigned)).body.views).toBe(3)
  })

  it('header: destroy answers with the header present and empty', async () => {
    const app = makeApp({ store: new MemoryStore(), header: 'x-session-id' }, counter)
    const first = await request(app.callback()).get('/')
    const out = await request(app.callback())
      .get('/logout')
      .set('x-session-id', first.headers['x-session-id'] as string)
    expect(out.headers['x-session-id']).toBe('')
    expect(cookiesOf(out)['koa.sess']).toBe('')
  })

  it('header: merges with the Access-Control-Expose-Headers that @koa/cors sets', async () => {
    const app = new Koa()
    app.keys = ['k']
    app.use(cors({ origin: 'http://spa.test', exposeHeaders: ['x-request-id'] }))
    app.use(session({ store: new MemoryStore(), header: 'x-session-id', cookie: false }, app))
    app.use(counter)
    const res = await request(app.callback()).get('/').set('Origin', 'http://spa.test')
    expect(res.headers['access-control-allow-origin']).toBe('http://spa.test')
    expect(res.headers['access-control-expose-headers']).toBe('x-request-id, x-session-id')
  })

  it('header: a re-signed id stays exposed when @koa/cors is mounted after the session', async () => {
    const app = new Koa()
    app.keys = ['key-one']
    app.use(session({ store: new MemoryStore(), header: 'x-session-id', cookie: false }, app))
    app.use(cors({ origin: 'http://spa.test', exposeHeaders: ['x-request-id'] }))
    app.use(counter)
    const first = await request(app.callback()).get('/').set('Origin', 'http://spa.test')
    const old = first.headers['x-session-id'] as string
    app.keys = ['key-new', 'key-one']
    const second = await request(app.callback())
      .get('/')
      .set('Origin', 'http://spa.test')
      .set('x-session-id', old)
    expect(second.body.views).toBe(2)
    const resigned = second.headers['x-session-id'] as string
    expect(resigned.split('.')[0]).toBe(old.split('.')[0])
    expect(resigned).not.toBe(old)
    // The browser hands this value to the SPA only if it is listed here, after cors has set its own list.
    expect(second.headers['access-control-expose-headers']).toBe('x-request-id, x-session-id')
    app.keys = ['key-new']
    expect((await request(app.callback()).get('/').set('x-session-id', resigned)).body.views).toBe(3)
    expect((await request(app.callback()).get('/').set('x-session-id', old)).body.views).toBe(1)
  })
})
