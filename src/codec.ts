/** How a top-level session value is stored: JSON, or JSON sealed with AES-256-GCM when keys are given. */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto'
import { invalidOption } from './errors.js'
import { META, type StoredFields } from './store/types.js'

/** Turns a value's JSON into the stored string and back. */
export interface Codec {
  /** Seals `json` for field `field` of session `id` (identity without keys). */
  encode(id: string, field: string, json: string): string
  /**
   * Opens a stored string. Returns `undefined` when it cannot be opened (tampered, unknown key),
   * and `stale: true` when an older key opened it, so the caller rewrites it with the newest.
   */
  decode(id: string, field: string, stored: string): { json: string; stale: boolean } | undefined
  /**
   * The tag (`_v`) that authenticates the metadata enforcing lifetimes and ownership (`_c`, `_m`,
   * `_u`) of session `id`; undefined without keys (nothing to authenticate with).
   */
  tag(id: string, meta: StoredFields): string | undefined
  /** Checks a stored tag: `ok`, `stale` (an older key made it: write a new one), or `bad` (tampered). */
  check(id: string, meta: StoredFields): 'ok' | 'stale' | 'bad'
  /**
   * True when values are sealed: base64url of a 12-byte IV, the ciphertext and a 16-byte tag, so a stored
   * value of n characters holds floor(3n / 4) - 28 bytes of JSON (what the store counts against `maxBytes`).
   */
  readonly sealed: boolean
}

const PLAIN: Codec = {
  encode: (_id, _field, json) => json,
  decode: (_id, _field, stored) => ({ json: stored, stale: false }),
  tag: () => undefined,
  check: () => 'ok',
  sealed: false,
}

/** The metadata fields a tag authenticates: what sets a session's lifetimes and owner. */
const AUTHENTICATED = [META.createdAt, META.maxAge, META.user] as const

/** The codec for `encryptionKeys` (newest first), or plain JSON when there are none. */
export function createCodec(keys: readonly (Buffer | Uint8Array)[] | undefined): Codec {
  if (keys === undefined) return PLAIN
  if (!Array.isArray(keys) || keys.length === 0) {
    throw invalidOption('encryptionKeys', 'must be a non-empty array of 32-byte keys, newest first', keys)
  }
  keys.forEach((k, i) => {
    if (!(k instanceof Uint8Array) || k.length !== 32) {
      throw invalidOption(`encryptionKeys[${i}]`, 'must be a 32-byte Buffer (AES-256)', k)
    }
  })
  const [newest] = keys as [Uint8Array]
  // A separate key for the tags, derived from each encryption key (never the same key for two uses).
  const macKeys = keys.map((k) => Buffer.from(hkdfSync('sha256', k, '', 'koa-session-redis3 metadata', 32)))
  const mac = (key: Buffer, id: string, meta: StoredFields) => {
    const h = createHmac('sha256', key).update(id)
    for (const field of AUTHENTICATED) h.update(`\0${field}=${meta[field] ?? ''}`)
    return h.digest('base64url')
  }
  return {
    tag: (id, meta) => mac(macKeys[0] as Buffer, id, meta),
    check(id, meta) {
      const stored = Buffer.from(meta[META.tag] ?? '')
      for (let i = 0; i < macKeys.length; i++) {
        const expected = Buffer.from(mac(macKeys[i] as Buffer, id, meta))
        if (stored.length === expected.length && timingSafeEqual(stored, expected))
          return i === 0 ? 'ok' : 'stale'
      }
      return 'bad'
    },
    sealed: true,
    encode(id, field, json) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', newest, iv)
      // The id and field name are authenticated data: a value copied to another field or another
      // session (by someone who can write to Redis) does not open.
      cipher.setAAD(aad(id, field))
      const body = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()])
      return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')
    },
    decode(id, field, stored) {
      const raw = Buffer.from(stored, 'base64url')
      if (raw.length < 28) return undefined
      const iv = raw.subarray(0, 12)
      const body = raw.subarray(12, raw.length - 16)
      const tag = raw.subarray(raw.length - 16)
      for (let i = 0; i < keys.length; i++) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', keys[i] as Uint8Array, iv)
          decipher.setAAD(aad(id, field))
          decipher.setAuthTag(tag)
          const json = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
          return { json, stale: i > 0 }
        } catch {
          // Wrong key or tampered: try the next key; none opening it means a miss, not a 500.
        }
      }
      return undefined
    },
  }
}

function aad(id: string, field: string): Buffer {
  // Ids never contain NUL (they are checked before use), so the pair is unambiguous.
  return Buffer.from(`${id}\0${field}`)
}
