// koa-passport 6 + passport 0.7 + passport-local: login regenerates the id, logout ends the login.
import Router from '@koa/router'
import Koa from 'koa'
import passport from 'koa-passport'
import { Strategy } from 'passport-local'
import request from 'supertest'
import { afterAll, describe, expect, it } from 'vitest'
import { session } from '../src/index.js'
import { cookieHeader, cookiesOf, testStore } from './helpers.js'

const store = testStore()
afterAll(() => store.close())

function app(): Koa {
  const app = new Koa()
  app.keys = ['passport-test']
  app.silent = true
  passport.serializeUser((user, done) => done(null, (user as { id: string }).id))
  passport.deserializeUser((id: string, done) => done(null, { id }))
  passport.use(
    new Strategy((username, password, done) =>
      done(null, username === 'alice' && password === 'secret' ? { id: 'alice' } : false),
    ),
  )
  app.use(session({ store, userId: (s) => (s as { passport?: { user?: string } }).passport?.user }, app))
  app.use(passport.initialize())
  app.use(passport.session())
  const router = new Router()
  router.get('/', (ctx) => {
    const s = ctx.session as Record<string, unknown>
    s.visits = ((s.visits as number | undefined) ?? 0) + 1
    ctx.body = { user: (ctx.state.user as { id: string } | undefined)?.id ?? null, visits: s.visits }
  })
  router.post('/login', async (ctx) => {
    const { username, password } = ctx.query as Record<string, string>
    ;(ctx.request as { body?: unknown }).body = { username, password }
    await passport.authenticate('local', async (err: unknown, user: { id: string } | false) => {
      if (err || !user) {
        ctx.status = 401
        return
      }
      await ctx.login(user)
      ctx.body = 'in'
    })(ctx, async () => undefined)
  })
  router.post('/logout', async (ctx) => {
    await ctx.logout()
    ctx.body = 'out'
  })
  app.use(router.routes())
  return app
}

describe('koa-passport', () => {
  it('passport: login changes the session id, keeps the data, and logout ends the login', async () => {
    const server = app().callback()
    const guest = await request(server).get('/')
    expect(guest.body).toEqual({ user: null, visits: 1 })
    const guestId = cookiesOf(guest)['koa.sess']

    const denied = await request(server)
      .post('/login?username=alice&password=wrong')
      .set('Cookie', cookieHeader(guest))
    expect(denied.status).toBe(401)

    const login = await request(server)
      .post('/login?username=alice&password=secret')
      .set('Cookie', cookieHeader(guest))
    expect(login.text).toBe('in')
    const loggedId = cookiesOf(login)['koa.sess']
    expect(loggedId).toBeTruthy()
    expect(loggedId).not.toBe(guestId)

    const me = await request(server).get('/').set('Cookie', cookieHeader(login))
    expect(me.body).toEqual({ user: 'alice', visits: 2 })
    // The pre-login id is dead: replaying it gives a fresh guest.
    expect((await request(server).get('/').set('Cookie', cookieHeader(guest))).body).toEqual({
      user: null,
      visits: 1,
    })
    expect(await store.listSessions('alice')).toHaveLength(1)

    const logout = await request(server).post('/logout').set('Cookie', cookieHeader(login))
    expect(logout.text).toBe('out')
    const after = cookiesOf(logout)['koa.sess']
    expect(after).toBeTruthy()
    expect(after).not.toBe(loggedId)
    expect((await request(server).get('/').set('Cookie', cookieHeader(logout))).body.user).toBeNull()
    expect((await request(server).get('/').set('Cookie', cookieHeader(login))).body).toEqual({
      user: null,
      visits: 1,
    })
    expect(await store.listSessions('alice')).toHaveLength(0)
  })
})
