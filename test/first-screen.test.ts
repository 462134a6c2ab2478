// The README's first example, run as written (only the ports change) in a child process, against the built package.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChildApp, startChildApp, visit } from './child-app.js'
import { freePort, type RedisServer, sendCommand, startRedis } from './redis-servers.js'

const root = join(import.meta.dirname, '..')
let redis: RedisServer
let app: ChildApp

function firstScreen(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const block = /```js\n([\s\S]*?)```/.exec(readme)?.[1]
  if (!block) throw new Error('README has no js block')
  return block
}

beforeAll(async () => {
  redis = await startRedis()
  const port = await freePort()
  const code = firstScreen()
    .replace('port: 6379', `port: ${redis.port}`)
    .replace('listen(3000)', `listen(${port})`)
  // Inside the package folder, so `import 'koa-session-redis3'` resolves to this package (self-reference).
  mkdirSync(join(root, 'test-results'), { recursive: true })
  const file = join(root, 'test-results', 'first-screen.mjs')
  writeFileSync(file, code)
  app = await startChildApp(file, port)
}, 30_000)

afterAll(async () => {
  app?.child.kill()
  await redis?.stop()
})

describe('README first screen', () => {
  it('first screen: counts 1, 2, 3 views with a cookie jar, keys under keySchema with a TTL of at most 3600 s', async () => {
    expect(firstScreen()).toContain("import session from 'koa-session-redis3'")
    const { texts, cookie } = await visit(app.base, 3)
    expect(texts).toEqual(['1 views', '2 views', '3 views'])
    const keys = (await sendCommand(redis.port, ['KEYS', '*'])) as string[]
    expect(keys).toHaveLength(1)
    expect(keys[0]?.startsWith('your:schema')).toBe(true)
    const ttl = (await sendCommand(redis.port, ['PTTL', keys[0] as string])) as number
    expect(ttl).toBeGreaterThan(3_500_000)
    expect(ttl).toBeLessThanOrEqual(3_600_000)
    // The cookie holds the id; the key holds only its hash.
    const id = /koa\.sess=([^;]+)/.exec(cookie)?.[1] as string
    expect(keys[0]).not.toContain(id)
    // A fresh browser (no cookie) starts at 1 again.
    expect(await (await fetch(app.base)).text()).toBe('1 views')
  })
})
