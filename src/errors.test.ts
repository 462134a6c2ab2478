import { describe, expect, it } from 'vitest'
import { reason, scrubbed } from './errors.js'

describe('errors', () => {
  it.each([
    [
      "ERR unknown command 'EVALSHA', with args beginning with: 'abc' 'koa:sess:{x}secret' ",
      'ERR: the server does not know a command (renamed or disabled with rename-command?)',
    ],
    [
      'ERR Unknown Redis command called from script script: 1f0e…, on @user_script:3.',
      'ERR: the server does not know a command a script runs (renamed?)',
    ],
    [
      "ERR The user executing the script can't run this command or subcommand script: 1f0e…, on @user_script:3.",
      'ERR: the Redis user may not run a command the scripts use (ACL)',
    ],
    [
      'WRONGTYPE Operation against a key holding the wrong kind of value',
      'WRONGTYPE: a key holds another kind',
    ],
    ["ERR value 'koa:sess:secret' is weird", 'ERR (a Redis error reply)'],
    [
      'Reached the max retries per request limit (which is 1). Refer to "maxRetriesPerRequest" option for details.',
      'the connection to Redis was lost and is not back',
    ],
    ['connect ECONNREFUSED 127.0.0.1:6379', 'connect ECONNREFUSED 127.0.0.1:6379'],
    ["something 'quoted-argument' here", 'something '],
  ])('reason: %s', (message, expected) => {
    expect(reason(new Error(message))).toContain(expected)
    expect(reason(new Error(message))).not.toMatch(
      /args beginning|koa:sess|secret|quoted-argument|maxRetries/,
    )
  })

  it('scrubbed: keeps the name and the reason, drops every other property (the command and its arguments)', () => {
    const err = Object.assign(new Error('WRONGTYPE Operation against a key'), {
      name: 'ReplyError',
      command: { name: 'hset', args: ['koa:sess:{x}key', 'field', 'value'] },
    })
    const clean = scrubbed(err)
    expect(clean.name).toBe('ReplyError')
    expect(Object.keys(clean)).toEqual(['name'])
    expect(JSON.stringify(clean)).toBe('{"name":"ReplyError"}')
    expect(clean.message).toBe(
      'WRONGTYPE: a key holds another kind of value than a session (another app under the same keySchema?)',
    )
  })
})
