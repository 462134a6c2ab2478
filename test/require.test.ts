// The seed's first line, `const session = require('koa-session-redis3')`, from a CommonJS file against the built package.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '..')

/** Runs `code` as a .cjs file inside the package folder, so `require('koa-session-redis3')` is this package. */
function runCommonJs(name: string, code: string, flags: string[] = []) {
  mkdirSync(join(root, 'test-results'), { recursive: true })
  const file = join(root, 'test-results', name)
  writeFileSync(file, code)
  return spawnSync(process.execPath, [...flags, file], { encoding: 'utf8', timeout: 15_000 })
}

// Serves the view counter with a MemoryStore and asks it twice, carrying the cookie, over real HTTP.
const seed = `
const session = require('koa-session-redis3')
const Koa = require('koa')

const app = new Koa()
app.keys = ['some secret hurr']
app.use(session({ store: new session.MemoryStore() }))
app.use(async (ctx) => {
  const n = (ctx.session.views ?? 0) + 1
  ctx.session.views = n
  ctx.body = n + ' views'
})

const server = app.listen(0, '127.0.0.1', async () => {
  const base = 'http://127.0.0.1:' + server.address().port
  const texts = []
  let cookie = ''
  for (let i = 0; i < 2; i++) {
    const res = await fetch(base, { headers: { cookie } })
    texts.push(await res.text())
    cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') || cookie
  }
  const esm = await import('koa-session-redis3')
  console.log(JSON.stringify({
    type: typeof session,
    keys: Object.keys(session).sort(),
    named: [session.session, session.RedisStore, session.MemoryStore, session.SessionError].map((v) => typeof v),
    sameAsImport: session.session === esm.default && session.SessionError === esm.SessionError,
    texts,
  }))
  server.close()
})
`

describe('packaging', () => {
  it("require: the seed's CommonJS first line gives the factory itself, which serves the counter", () => {
    const run = runCommonJs('require-seed.cjs', seed)
    expect(run.stderr).toBe('')
    expect(run.status).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual({
      type: 'function',
      keys: ['MemoryStore', 'RedisStore', 'SessionError', 'countOldSessions', 'session'],
      named: ['function', 'function', 'function', 'function'],
      // One module instance for require() and import: classes and the installed-app registry are shared.
      sameAsImport: true,
      texts: ['1 views', '2 views'],
    })
  })

  it('require: every value the ES module exports is on the CommonJS factory, and nothing else', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { createRequire } from 'node:module'
         const cjs = createRequire(import.meta.url)('koa-session-redis3')
         const esm = await import('koa-session-redis3')
         console.log(JSON.stringify({
           esm: Object.keys(esm).filter((k) => k !== 'default').sort(),
           cjs: Object.keys(cjs).sort(),
           same: Object.keys(cjs).every((k) => cjs[k] === esm[k]),
         }))`,
      ],
      { cwd: root, encoding: 'utf8' },
    )
    const { esm, cjs, same } = JSON.parse(out)
    expect(cjs).toEqual(esm)
    expect(same).toBe(true)
  })

  it.skipIf(!process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module'))(
    'require: on a Node without require(esm), the error names the package and the Node version needed',
    () => {
      const run = runCommonJs('require-old-node.cjs', "require('koa-session-redis3')", [
        '--no-experimental-require-module',
      ])
      expect(run.status).not.toBe(0)
      expect(run.stderr).toContain('koa-session-redis3: require() of this package needs Node >= 20.19')
    },
  )
})
