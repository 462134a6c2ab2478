const Koa = require('koa')
const session = require('koa-session-redis3')

const app = new Koa()
app.keys = ['some secret hurr']
app.use(session({
  store: { host: '127.0.0.1', port: 6379, ttl: 3600, keySchema: 'your:schema' },
}))
app.use(async (ctx) => {
  const n = (ctx.session.views ?? 0) + 1
  ctx.session.views = n
  ctx.body = `${n} views`
})
app.listen(3000)
