import { Redis } from 'ioredis'
import Koa from 'koa'
import { afterAll, describe, expect, it } from 'vitest'
import { session } from '../middleware.js'
import { MemoryStore } from '../store/memory.js'

// Never connected: only its presence is checked (lazyConnect, a port nothing listens on).
const client = new Redis({ port: 1, lazyConnect: true })
afterAll(() => client.disconnect())

function app(keys?: unknown): Koa {
  const a = new Koa()
  if (keys !== undefined) a.keys = keys as string[]
  return a
}

describe('migrate option', () => {
  it('session({ migrate }): refuses bad values, naming the option and the value', () => {
    const store = new MemoryStore()
    const make = (migrate: unknown) => () => session({ store, migrate: migrate as never }, app(['k']))
    expect(make('koa-redis')).toThrow('`migrate` must be an object, received "koa-redis"')
    expect(make({ from: 'connect-redis', client })).toThrow(
      '`migrate.from` must be one of koa-redis, koa-generic-session, koa-session-redis3, received "connect-redis"',
    )
    expect(make({ form: 'koa-redis' })).toThrow(
      '`migrate.form` is not an option (did you mean `migrate.from`?)',
    )
    expect(make({ from: 'koa-redis', client, prefix: 'a{b}' })).toThrow('`migrate.prefix`')
    expect(make({ from: 'koa-redis', client, key: 'a b' })).toThrow('`migrate.key`')
    expect(make({ from: 'koa-redis', client, unsigned: 'yes' })).toThrow(
      '`migrate.unsigned` must be a boolean',
    )
    expect(make({ from: 'koa-redis' })).toThrow(
      '`migrate.client` must be given when the store is not a RedisStore',
    )
  })

  it('session({ migrate }): needs app.keys as an array, since new ids are derived with app.keys[0]', () => {
    const store = new MemoryStore()
    const m = { from: 'koa-redis', client } as const
    expect(() => session({ store, migrate: m, signed: false }, app())).toThrow(
      '`app.keys` must be an array of keys (not a Keygrip) because `migrate` derives new ids with it',
    )
    expect(() => session({ store, migrate: m }, app(['k']))).not.toThrow()
  })
})
