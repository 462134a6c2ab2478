// The package loads through require() from CommonJS (Node >= 20.19), from the built output.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

describe('packaging', () => {
  it('require: CommonJS gets the default export and the named exports', () => {
    const script = `
      const m = require('koa-session-redis3')
      console.log(JSON.stringify({
        default: typeof m.default, session: typeof m.session, same: m.default === m.session,
        RedisStore: typeof m.RedisStore, MemoryStore: typeof m.MemoryStore, SessionError: typeof m.SessionError,
      }))`
    const out = execFileSync(process.execPath, ['-e', script], {
      cwd: join(import.meta.dirname, '..'),
      encoding: 'utf8',
    })
    expect(JSON.parse(out)).toEqual({
      default: 'function',
      session: 'function',
      same: true,
      RedisStore: 'function',
      MemoryStore: 'function',
      SessionError: 'function',
    })
  })
})
