/** What the store last held for a session (each field's JSON, the metadata): the base of change detection. */
import type { Codec } from './codec.js'
import { SessionError } from './errors.js'
import { timestamp } from './store/lifetime.js'
import { isMeta, META, type StoredFields } from './store/types.js'

/** Top-level keys whose JSON differs from the snapshot, and the keys that are gone. */
export type Changes = Map<string, string> & { deleted: string[] }

/** The store's view of one session, as this request last saw or wrote it. */
export class Snapshot {
  /** JSON of each data field. */
  json = new Map<string, string>()
  /** Metadata fields (`_c`, `_u`, ...). */
  meta: StoredFields = {}
  /** Fields an older encryption key sealed, with their stored value: re-sealed where still unchanged. */
  stale = new Map<string, string>()
  /** The metadata tag (`_v`) was made by an older key. */
  staleTag = false
  /** Characters of the data fields' JSON, names included, as last opened. */
  jsonChars = 0

  /**
   * Opens stored fields into session data and takes them as the snapshot. Returns undefined when
   * a field cannot be opened or parsed (corrupt or tampered data), leaving the snapshot as it was.
   */
  open(fields: StoredFields, codec: Codec, id: string): Record<string, unknown> | undefined {
    // Every session we write has an integer creation time; without one the lifetimes cannot hold.
    if (timestamp(fields[META.createdAt]) === undefined) return undefined
    const data: Record<string, unknown> = {}
    const json = new Map<string, string>()
    const meta: StoredFields = {}
    const stale = new Map<string, string>()
    let chars = 0
    try {
      for (const field in fields) {
        const value = fields[field] as string
        if (isMeta(field)) {
          meta[field] = value
          continue
        }
        const opened = codec.decode(id, field, value)
        if (opened === undefined) return undefined
        chars += field.length + opened.json.length
        const parsed = JSON.parse(opened.json)
        // A stored `__proto__` field stays a key (the session skips it as reserved), defined rather than
        // assigned; defining every field would cost a request 1 µs (profiled).
        if (field === '__proto__') {
          Object.defineProperty(data, field, { value: parsed, enumerable: true, configurable: true })
        } else data[field] = parsed
        json.set(field, opened.json)
        if (opened.stale) stale.set(field, value)
      }
    } catch {
      return undefined
    }
    // With encryptionKeys, metadata that does not match its tag was changed by someone without the keys.
    const tag = codec.check(id, meta)
    if (tag === 'bad') return undefined
    this.json = json
    this.meta = meta
    this.stale = stale
    this.jsonChars = chars
    this.staleTag = tag === 'stale'
    return data
  }

  /** What `data` changes against the snapshot. */
  diff(data: Record<string, unknown>): Changes {
    const changes = new Map<string, string>() as Changes
    changes.deleted = []
    for (const key in data) {
      const json = stringify(key, data[key])
      if (json !== undefined && this.json.get(key) !== json) changes.set(key, json)
      if (json === undefined && this.json.has(key)) changes.deleted.push(key)
    }
    for (const key of this.json.keys()) if (!(key in data)) changes.deleted.push(key)
    return changes
  }

  /**
   * The top-level keys and bytes (names and JSON) the session holds once `changes` are applied: what
   * the `maxKeys` and `maxBytes` limits bound.
   */
  size(changes: Changes): { keys: number; bytes: number } {
    let keys = 0
    let bytes = 0
    for (const [key, json] of changes) {
      keys++
      bytes += Buffer.byteLength(key) + Buffer.byteLength(json)
    }
    // A Set: `deleted.includes` inside this loop made clearing 20,000 keys take seconds (quadratic).
    const deleted = new Set(changes.deleted)
    for (const [key, json] of this.json) {
      if (changes.has(key) || deleted.has(key)) continue
      keys++
      bytes += Buffer.byteLength(key) + Buffer.byteLength(json)
    }
    return { keys, bytes }
  }

  /** Takes a successful write into the snapshot: the changes and the metadata written with them. */
  remember(changes: Changes, set: StoredFields): void {
    for (const [key, json] of changes) this.json.set(key, json)
    for (const key of changes.deleted) {
      this.json.delete(key)
      if (isMeta(key)) delete this.meta[key]
    }
    for (const key in set) if (isMeta(key)) this.meta[key] = set[key] as string
  }
}

/** The stored form of the changed values of session `id`. */
export function encode(changes: Changes, codec: Codec, id: string): StoredFields {
  const set: StoredFields = {}
  for (const [key, json] of changes) set[key] = codec.encode(id, key, json)
  return set
}

/** JSON of one top-level value, or a SessionError that names its key (not its value). */
function stringify(key: string, value: unknown): string | undefined {
  try {
    return JSON.stringify(value)
  } catch (err) {
    // BigInt, circular structures, nesting deeper than the stack: a bug of the app, reported as one.
    const reason =
      err instanceof RangeError ? 'is nested too deeply' : 'is not JSON (a BigInt or a circular structure?)'
    throw new SessionError('INVALID_VALUE', `ctx.session.${key} cannot be saved: its value ${reason}`)
  }
}
