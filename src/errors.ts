/** The one error type of koa-session-redis3, with stable codes. */

/**
 * Stable error codes.
 * - `INVALID_OPTION`: a configuration mistake, thrown by `session(...)` or a store constructor.
 * - `STORE_UNAVAILABLE`: the store failed (connection refused, closed, Redis error).
 * - `STORE_TIMEOUT`: the store did not answer within its `timeout`.
 * - `NOT_LOADED`: `ctx.session` was read before `await ctx.loadSession()` with `lazy: true`.
 * - `UNSUPPORTED`: the operation needs an option that is off (e.g. handles with `hashIds: false`).
 * - `INVALID_VALUE`: a session value JSON cannot hold (a BigInt, a circular structure, nesting too deep).
 */
export type SessionErrorCode =
  | 'INVALID_OPTION'
  | 'STORE_UNAVAILABLE'
  | 'STORE_TIMEOUT'
  | 'NOT_LOADED'
  | 'UNSUPPORTED'
  | 'INVALID_VALUE'

// A registry symbol, not `instanceof`, so two installed copies of the package recognise each other's errors.
const BRAND = Symbol.for('koa-session-redis3.SessionError')

/**
 * Raised for configuration mistakes and store failures. Store failures carry `status: 503` and
 * `expose: false`, so Koa answers "Service Unavailable" without leaking the cause to the client.
 *
 * @example
 * app.on('error', (err) => { if (SessionError.is(err)) metrics.increment(err.code) })
 */
export class SessionError extends Error {
  /** Stable, machine-readable reason. */
  readonly code: SessionErrorCode
  /** HTTP status Koa uses when this error reaches it. */
  readonly status: number
  /** Never expose store internals to the client. */
  readonly expose = false

  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(
      `koa-session-redis3: ${message}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    )
    this.name = 'SessionError'
    this.code = code
    this.status = options?.status ?? (code === 'STORE_UNAVAILABLE' || code === 'STORE_TIMEOUT' ? 503 : 500)
    Object.defineProperty(this, BRAND, { value: true })
  }

  /** True for a `SessionError` from any installed copy of this package. */
  static is(err: unknown): err is SessionError {
    return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true
  }
}

/** Builds the `INVALID_OPTION` error with the house message shape: option, rule, received value. */
export function invalidOption(option: string, rule: string, received: unknown): SessionError {
  return new SessionError('INVALID_OPTION', `\`${option}\` ${rule}, received ${describe(received)}`)
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'function') return 'a function'
  if (Array.isArray(value)) return `an array of length ${value.length}`
  if (typeof value === 'object' && value !== null) return 'an object'
  return String(value)
}

/**
 * A client error as a `cause` may keep it: its name and text, nothing else. ioredis and node-redis
 * attach the command and its arguments (session values, key hashes, raw ids with `hashIds: false`),
 * and a log serialiser that follows causes would write them out.
 */
export function scrubbed(err: unknown): Error {
  const clean = new Error(reason(err))
  clean.name = err instanceof Error ? err.name : 'Error'
  return clean
}

/**
 * A client error's text in words a user can act on, with nothing of the command's arguments. Redis
 * quotes the start of a refused command's arguments (`unknown command 'EVALSHA', with args beginning
 * with: '…' 'koa:sess:…'`: a key, field names, values, a raw id with `hashIds: false`), so a reply
 * error keeps its code and a fixed text. ioredis names its own retry option, which is not the fix.
 */
export function reason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  const code = /^([A-Z][A-Z_-]+)(?: |$)/.exec(text)?.[1]
  if (code !== undefined) {
    for (const [pattern, words] of REPLIES) if (pattern.test(text)) return `${code}: ${words}`
    return `${code} (a Redis error reply)`
  }
  if (/max retries per request/i.test(text)) return 'the connection to Redis was lost and is not back'
  if (/enableOfflineQueue|Connection is closed|client is closed|Socket closed/i.test(text)) {
    return 'not connected to Redis'
  }
  // Connection errors (`connect ECONNREFUSED 127.0.0.1:6379`) name no argument; anything else is cut
  // at its first quote, behind which a client could repeat an argument.
  return text.split(/['"]/, 1)[0] as string
}

/** Redis error replies we can put in words, matched on their fixed text. */
const REPLIES: [RegExp, string][] = [
  [/^ERR unknown command/, 'the server does not know a command (renamed or disabled with rename-command?)'],
  [
    /^ERR Unknown Redis command called from script/,
    'the server does not know a command a script runs (renamed?)',
  ],
  [
    /^ERR The user executing the script can't run/,
    'the Redis user may not run a command the scripts use (ACL)',
  ],
  [/^ERR unknown subcommand/, 'the server does not know a subcommand (an older Redis?)'],
  [/^OOM /, 'Redis is out of memory (maxmemory reached, and the policy evicts nothing it may)'],
  [/^READONLY /, 'the server is a read-only replica (a failover in progress, or the wrong address?)'],
  [/^(NOPERM|NOAUTH|WRONGPASS) /, 'the Redis user lacks a permission or failed to authenticate'],
  [/^WRONGTYPE /, 'a key holds another kind of value than a session (another app under the same keySchema?)'],
  [/^LOADING /, 'Redis is loading its data set'],
  [/^BUSY /, 'Redis is busy running a script'],
  [/^(CLUSTERDOWN|MASTERDOWN|TRYAGAIN) /, 'the Cluster or its master is down'],
  [/^ERR .*koa-session-redis3: bad TTL/, 'a TTL out of range was refused'],
]

/**
 * A save refused by the store because, with what parallel requests saved meanwhile, the session would
 * hold more than `maxKeys` top-level keys (each request alone was within it).
 */
export function overKeys(maxKeys: number): SessionError {
  return new SessionError(
    'INVALID_VALUE',
    `the session cannot be saved: with what other requests saved meanwhile, it would hold more top-level keys than the limit \`maxKeys\` (${maxKeys})`,
  )
}

/**
 * A save refused by the store because, with what parallel requests saved meanwhile, the session would
 * hold more than `maxBytes` bytes of JSON (each request alone was within it).
 */
export function overBytes(maxBytes: number): SessionError {
  return new SessionError(
    'INVALID_VALUE',
    `the session cannot be saved: with what other requests saved meanwhile, it would hold more bytes of JSON than the limit \`maxBytes\` (${maxBytes})`,
  )
}

/** True for the failures of a store (unreachable, erroring, too slow), which `failOpen` may serve around. */
export function isStoreFailure(err: unknown): boolean {
  return SessionError.is(err) && (err.code === 'STORE_UNAVAILABLE' || err.code === 'STORE_TIMEOUT')
}
