/** Validation of `session(...)`'s options, once, into the frozen object that request code reads. */
import type Koa from 'koa'
import { createCodec } from './codec.js'
import { invalidOption } from './errors.js'
import { resolveMigrate } from './migrate/options.js'
import { checkNames } from './option-names.js'
import { DEFAULTS, type Resolved, SESSION_OPTION_NAMES, type SessionOptions } from './options.js'
import { durationOption } from './store/lifetime.js'
import { resolveStore } from './store/resolve.js'
import { cookieTransport, resolveCookie } from './transport/cookie.js'
import { externalTransport } from './transport/external.js'
import { headerTransport } from './transport/header.js'
import type { Transport } from './transport/types.js'

/** Validates `options` and resolves them into a frozen object. Throws `SessionError('INVALID_OPTION')`. */
export function resolveOptions(options: SessionOptions, app: Koa | undefined): Resolved {
  if (typeof options !== 'object' || options === null)
    throw invalidOption('options', 'must be an object', options)
  const o = options
  checkNames(o, SESSION_OPTION_NAMES)
  const key = o.key ?? DEFAULTS.key
  if (typeof key !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z:]+$/.test(key)) {
    throw invalidOption('key', 'must be a non-empty cookie name (RFC 6265 token characters)', key)
  }
  const { openStore, storeTtl, foreign } = resolveStore(o.store, o.ContextStore)
  // koa-session stores hold one JSON value per session: no ciphertext fields, no creation time.
  for (const name of ['encryptionKeys', 'absoluteTimeout'] as const) {
    if (foreign && o[name] !== undefined) {
      throw invalidOption(name, 'needs a RedisStore or MemoryStore, not a koa-session store', o.store)
    }
  }
  const maxAge =
    o.maxAge === 'session'
      ? 'session'
      : o.maxAge === undefined
        ? (storeTtl ?? DEFAULTS.lifetime.maxAge)
        : durationOption('maxAge', o.maxAge, 'ms', ", or 'session'")
  for (const name of [
    'autoCommit',
    'rolling',
    'renew',
    'saveUninitialized',
    'lazy',
    'failOpen',
    'regenerateKeepsData',
  ] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'boolean')
      throw invalidOption(name, 'must be a boolean', o[name])
  }
  for (const name of ['genid', 'valid', 'beforeSave', 'userId', 'ContextStore'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'function')
      throw invalidOption(name, 'must be a function', o[name])
  }
  const absoluteTimeout =
    o.absoluteTimeout === undefined || o.absoluteTimeout === 0
      ? DEFAULTS.lifetime.absoluteTimeout
      : durationOption('absoluteTimeout', o.absoluteTimeout, 'ms')
  const maxSessionsPerUser = count(
    'maxSessionsPerUser',
    o.maxSessionsPerUser,
    DEFAULTS.users.maxSessionsPerUser,
  )
  const maxKeys = count('maxKeys', o.maxKeys, DEFAULTS.limits.maxKeys)
  const maxBytes = count('maxBytes', o.maxBytes, DEFAULTS.limits.maxBytes)
  const prefix = o.prefix ?? DEFAULTS.ids.prefix
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9_.:~-]*$/.test(prefix) || prefix.length > 64) {
    throw invalidOption('prefix', 'must be up to 64 characters of A-Z a-z 0-9 _ . : ~ -', prefix)
  }

  const cookie = resolveCookie(o, key, DEFAULTS.cookie)
  const signed = cookie === false ? o.signed !== false : cookie.signed !== false
  if (signed && app !== undefined) assertKeys(app)

  // The 1.x package's `store.ttl` sets the server-side idle timeout; without it `maxAge` does.
  const ttl = storeTtl ?? (maxAge === 'session' ? DEFAULTS.lifetime.maxAge : maxAge)
  const transports: Transport[] = []
  if (o.header !== undefined) {
    if (typeof o.header !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(o.header)) {
      throw invalidOption('header', 'must be an HTTP header name', o.header)
    }
    transports.push(headerTransport(o.header, signed))
  }
  if (o.externalKey !== undefined) {
    if (typeof o.externalKey?.get !== 'function' || typeof o.externalKey?.set !== 'function') {
      throw invalidOption('externalKey', 'must have get(ctx) and set(ctx, value) functions', o.externalKey)
    }
    transports.push(externalTransport(o.externalKey))
  } else if (cookie !== false) {
    transports.push(cookieTransport(key, cookie))
  }
  if (transports.length === 0) {
    throw invalidOption(
      'cookie',
      'can be false only with `header` or `externalKey` set to carry the id',
      false,
    )
  }

  // Created last, so a configuration error above never leaves a Redis connection open.
  const { store, instance } = openStore({ maxAge, rolling: o.rolling ?? DEFAULTS.lifetime.rolling })
  // Old sessions are read on the store's own Redis unless `migrate.client` says otherwise.
  const migrate = o.migrate === undefined ? undefined : resolveMigrate(o.migrate, key, instance)
  if (migrate !== undefined && app !== undefined) assertMigrateKeys(app)
  return Object.freeze({
    key,
    maxAge,
    ttl,
    autoCommit: o.autoCommit ?? DEFAULTS.saving.autoCommit,
    rolling: o.rolling ?? DEFAULTS.lifetime.rolling,
    renew: o.renew ?? DEFAULTS.lifetime.renew,
    genid: o.genid,
    prefix,
    valid: o.valid,
    beforeSave: o.beforeSave,
    store,
    storeInstance: instance,
    saveUninitialized: o.saveUninitialized ?? DEFAULTS.saving.saveUninitialized,
    lazy: o.lazy ?? DEFAULTS.saving.lazy,
    failOpen: o.failOpen ?? DEFAULTS.saving.failOpen,
    absoluteTimeout,
    userId: o.userId,
    maxSessionsPerUser,
    regenerateKeepsData: o.regenerateKeepsData ?? DEFAULTS.saving.regenerateKeepsData,
    maxKeys,
    maxBytes,
    signed,
    transports: Object.freeze(transports),
    codec: createCodec(o.encryptionKeys),
    migrate,
  })
}

/** `migrate` derives new ids from old ones with `app.keys[0]`: it needs keys it can read, whatever `signed` says. */
export function assertMigrateKeys(app: Koa): void {
  if (!Array.isArray(app.keys)) {
    throw invalidOption(
      'app.keys',
      'must be an array of keys (not a Keygrip) because `migrate` derives new ids with it',
      app.keys,
    )
  }
  assertKeys(app)
}

/** A positive integer option, or its default. */
function count(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return value
  throw invalidOption(option, 'must be a positive integer', value)
}

/** Throws unless the app can sign: Koa's `app.keys` must hold at least one key. */
export function assertKeys(app: Koa): void {
  const keys = app.keys as unknown
  // A Keygrip instance (which Koa also accepts) keeps its keys to itself.
  if (typeof (keys as { sign?: unknown } | undefined)?.sign === 'function') return
  if (!Array.isArray(keys) || keys.length === 0) {
    throw invalidOption('app.keys', 'must be set (e.g. app.keys = [secret]) because `signed` is on', keys)
  }
  keys.forEach((k: unknown, i) => {
    // An empty key is an HMAC key anyone can reproduce; `undefined` is usually an unset environment variable.
    if (!((typeof k === 'string' || Buffer.isBuffer(k)) && k.length > 0)) {
      throw invalidOption(
        `app.keys[${i}]`,
        'must be a non-empty string or Buffer',
        typeof k === 'string' ? '' : k,
      )
    }
  })
  const short = keys.findIndex((k: string | Buffer) => Buffer.byteLength(k) < STRONG_KEY_BYTES)
  if (short >= 0 && !warnedWeakKey) {
    warnedWeakKey = true
    // A warning, not an error: test suites and demos use short keys, and refusing them would break
    // apps that work. Never the key itself.
    process.emitWarning(
      `koa-session-redis3: app.keys[${short}] is shorter than ${STRONG_KEY_BYTES} bytes; a short key can be guessed offline from one signed cookie. Use 32 random bytes, e.g. crypto.randomBytes(32).toString('base64url').`,
      { code: 'KOA_SESSION_REDIS3_WEAK_KEY' },
    )
  }
}

/** Keys shorter than this draw a warning (once per process): 128 bits, if the bytes are random. */
const STRONG_KEY_BYTES = 16
let warnedWeakKey = false
