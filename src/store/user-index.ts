/** A user's sessions in Redis: the index key, listing, and revoking one, several or all (see docs/DESIGN.md). */
import { SessionError } from '../errors.js'
import { hashId, requiredUserHash, TAG_LENGTH, tagOf, userTag } from '../id.js'
import type { Connection } from './client.js'
import { REVOKE } from './scripts.js'
import { META, type SessionInfo } from './types.js'

// A user hash (`_u`) is base64url SHA-256; anything else in that field was not written by us.
const USER_HASH = /^[A-Za-z0-9_-]{43}$/
// A handle is the session's tag and key hash.
const HANDLE = /^[A-Za-z0-9_-]{46}$/
// Sessions per REVOKE call in destroyUser: each call blocks Redis for one batch only.
const REVOKE_BATCH = 500

/** Runs a write of the given session keys (dropping their cached copies around it, with a cache). */
export type Changing = <T>(keys: string[], run: () => Promise<T>) => Promise<T>

/** The user index of a RedisStore: a sorted set per user, in the slot its sessions share. */
export class UserIndex {
  readonly #keySchema: string
  readonly #hashIds: boolean
  readonly #connection: Connection
  readonly #changing: Changing

  constructor(keySchema: string, hashIds: boolean, connection: Connection, changing: Changing) {
    this.#keySchema = keySchema
    this.#hashIds = hashIds
    this.#connection = connection
    this.#changing = changing
  }

  /** The index key of a user hash. */
  key(user: string): string {
    return `${this.#keySchema}u:{${userTag(user)}}${user}`
  }

  /** What the index holds for a session: the key hash (or, with `hashIds: false`, the id). */
  member(id: string): string {
    return this.#hashIds ? hashId(id) : id
  }

  /** The session key of a member in the slot `tag`. */
  sessionKey(tag: string, member: string): string {
    return `${this.#keySchema}{${tag}}${member}`
  }

  /** A stored `_u` we can trust to name the index in this session's slot, or undefined. */
  ownerOf(id: string, user: unknown): string | undefined {
    return typeof user === 'string' && USER_HASH.test(user) && userTag(user) === tagOf(id) ? user : undefined
  }

  /** Ends sessions of `user` by their members; `owned`: only those whose `_u` is that user. */
  async revoke(user: string, members: string[], owned: boolean): Promise<number> {
    const tag = userTag(user)
    const sessions = members.map((m) => this.sessionKey(tag, m))
    const run = () =>
      this.#connection.run(
        REVOKE,
        [this.key(user), ...sessions],
        [Date.now(), owned ? '1' : '0', user, ...members],
      )
    return Number(await this.#changing(sessions, run))
  }

  /** The live sessions of a user: the members not yet expired, with what their hashes say. */
  async list(userId: string | number): Promise<SessionInfo[]> {
    const user = requiredUserHash(userId, 'listSessions')
    const members = (await this.#connection.call(
      'ZRANGEBYSCORE',
      this.key(user),
      `(${Date.now()}`,
      '+inf',
    )) as string[]
    const tag = userTag(user)
    const rows = await Promise.all(
      members.map((m) => this.#connection.call('HMGET', this.sessionKey(tag, m), '_c', '_t', '_a')),
    )
    const list: SessionInfo[] = []
    members.forEach((member, i) => {
      const [c, t, a] = rows[i] as (string | null)[]
      // A member whose session is gone (deleted by hand, or a lost race) is not a live session.
      if (c === null || c === undefined) return
      list.push({
        handle: tag + (this.#hashIds ? member : hashId(member)),
        createdAt: Number(c),
        lastSeenAt: Number(t ?? c),
        userAgent: a ?? undefined,
      })
    })
    return list
  }

  /** Revokes the session of a handle; with `userId`, only if it belongs to that user. */
  async destroyHandle(handle: string, userId: string | number | undefined): Promise<boolean> {
    if (!this.#hashIds) {
      throw new SessionError('UNSUPPORTED', '`destroySession` needs `hashIds: true` (handles are hashes)')
    }
    const owner = userId === undefined ? undefined : requiredUserHash(userId, 'destroySession')
    if (typeof handle !== 'string' || !HANDLE.test(handle)) return false
    const tag = handle.slice(0, TAG_LENGTH)
    const member = handle.slice(TAG_LENGTH)
    if (owner !== undefined) return userTag(owner) === tag && (await this.revoke(owner, [member], true)) === 1
    const key = this.sessionKey(tag, member)
    const user = await this.#connection.call('HGET', key, META.user)
    if (typeof user === 'string' && USER_HASH.test(user) && userTag(user) === tag) {
      return (await this.revoke(user, [member], false)) === 1
    }
    return (await this.#changing([key], () => this.#connection.call('DEL', key))) === 1
  }

  /** Revokes every session of a user but the one of id `except`; resolves the number revoked. */
  async destroyUser(userId: string | number, except: string | undefined): Promise<number> {
    const user = requiredUserHash(userId, 'destroyUserSessions')
    const index = this.key(user)
    const keep = except === undefined ? undefined : this.member(except)
    let n = 0
    // Again until only `keep` is left: a login that raced the first pass is ended by the next.
    for (let pass = 0; pass < 10; pass++) {
      const all = (await this.#connection.call('ZRANGE', index, 0, -1)) as string[]
      const members = all.filter((m) => m !== keep)
      if (members.length === 0) break
      for (let i = 0; i < members.length; i += REVOKE_BATCH) {
        n += await this.revoke(user, members.slice(i, i + REVOKE_BATCH), true)
      }
    }
    return n
  }
}
