// Koa 2 (installed side by side as `koa2`) runs the same middleware.
import Koa2 from 'koa2'
import request from 'supertest'
import { describe, expect, it } from 'vitest'
import { MemoryStore, session } from '../src/index.js'

describe('Koa 2', () => {
  it('koa 2: counts views and destroys the session', async () => {
    const app = new Koa2()
    app.keys = ['k2']
    app.use(session({ store: new MemoryStore() }, app as never))
    app.use((ctx) => {
      if (ctx.path === '/out') {
        ctx.session = null
        ctx.body = 'out'
        return
      }
      const s = ctx.session as { views?: number }
      s.views = (s.views ?? 0) + 1
      ctx.body = `${s.views} views`
    })
    const agent = request.agent(app.callback())
    expect((await agent.get('/')).text).toBe('1 views')
    expect((await agent.get('/')).text).toBe('2 views')
    await agent.get('/out')
    expect((await agent.get('/')).text).toBe('1 views')
  })
})
