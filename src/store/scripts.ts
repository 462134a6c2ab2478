/** The Lua scripts of RedisStore: only the steps that must be atomic, each on one hash slot, every key in KEYS. */
import { createHash } from 'node:crypto'
import { MAX_DURATION } from './lifetime.js'
import { META } from './types.js'

/** A script with the SHA-1 that EVALSHA needs. */
export interface Script {
  readonly name: string
  /** What the session is doing when it runs, for error messages: `saving`, `ending`. */
  readonly doing: string
  readonly source: string
  readonly sha: string
}

// Each script defines only the helpers it uses: Redis runs the whole source on every call, and a
// Lua call is the largest Redis cost of a write (measured: bench/README.md).
//
// The TTL is checked before the first write: Redis does not roll a script back, and a PEXPIRE of 0
// or less would delete the key that a following HSET then recreates without expiry. Values go in
// slices of 1000 because Lua's unpack has a limit of a few thousand values.
const CHECK_TTL = `
local ttl = tonumber(ARGV[TTL])
if not ttl or ttl < 1 or ttl > ${MAX_DURATION} or ttl % 1 ~= 0 then
  return redis.error_reply('ERR koa-session-redis3: bad TTL')
end`

// The index of a user lives exactly as long as its latest session: its TTL is that member's expiry.
const FIT_INDEX = `
local function fitIndex(ik, now)
  local top = redis.call('ZREVRANGE', ik, 0, 0, 'WITHSCORES')
  if top[2] and tonumber(top[2]) > now then
    redis.call('PEXPIRE', ik, string.format('%d', math.ceil(tonumber(top[2]) - now)))
  else
    redis.call('DEL', ik)
  end
end`

// A Lua table of the metadata field names, each `true`: `{ _c = true, _t = true, ... }`.
const META_SET = `{ ${Object.values(META)
  .map((field) => `${field} = true`)
  .join(', ')} }`

// The limits of an update, `maxKeys` (0: none) and `maxBytes` of JSON, names included (0: none): checked
// in Redis, because parallel requests that each stay within them can together pass them, and a load
// then ends the session as too large. One HSTRLEN per data field written (names starting with _ are
// metadata) says whether the write adds a field (stored values are never empty: 0 is a new field) and
// whether it grows the data; a write that does neither, such as a counter's, is never refused and costs
// nothing more. Only a write that adds a field is counted against `maxKeys`: HLEN, O(1) and counting the
// metadata too, is enough while the session is clear of the cap; only near it are the fields counted
// exactly (one HEXISTS per metadata field and per field written or deleted). Only a write that grows the
// data measures the whole session: up to 1024 fields by HSTRLEN of each (HGETALL would copy every value
// into Lua: 200 KB in 5 values cost it 0.3 ms, against a few µs), beyond that by one HGETALL (20,000
// fields: 5 ms, against 22). A sealed value (base64url of a 12-byte IV, the ciphertext and a 16-byte tag)
// of n characters holds floor(3n / 4) - 28 bytes of JSON. A session already beyond a limit (lowered
// since) still takes changes that do not grow it. Returns -1 (keys), -2 (bytes) or nil.
const OVER_LIMITS = `
local function overLimits(k, cap, room, sealed, first, last, dels)
  if cap == 0 and room == 0 then return nil end
  local function json(n)
    if sealed and n > 0 then return math.floor(n * 3 / 4) - 28 end
    return n
  end
  local grow, adds = 0, false
  for i = first, last, 2 do
    local f = ARGV[i]
    if string.byte(f) ~= 95 then
      local n = redis.call('HSTRLEN', k, f)
      if n == 0 then
        adds = true
        grow = grow + #f
      end
      grow = grow + json(#ARGV[i + 1]) - json(n)
    end
  end
  if adds and cap > 0 then
    local len = redis.call('HLEN', k)
    if len + (last - first + 1) / 2 > cap then
      local meta = ${META_SET}
      for field in pairs(meta) do len = len - redis.call('HEXISTS', k, field) end
      local before = len
      for i = first, last, 2 do
        if not meta[ARGV[i]] then len = len + 1 - redis.call('HEXISTS', k, ARGV[i]) end
      end
      for i = last + 1, dels do
        if not meta[ARGV[i]] then len = len - redis.call('HEXISTS', k, ARGV[i]) end
      end
      if len > cap and len > before then return -1 end
    end
  end
  if room == 0 or grow <= 0 then return nil end
  local gone, total = {}, grow
  for i = last + 1, dels do gone[ARGV[i]] = true end
  if redis.call('HLEN', k) <= 1024 then
    for _, f in ipairs(redis.call('HKEYS', k)) do
      if string.byte(f) ~= 95 and not gone[f] then total = total + #f + json(redis.call('HSTRLEN', k, f)) end
    end
  else
    local all = redis.call('HGETALL', k)
    for i = 1, #all, 2 do
      local f = all[i]
      if string.byte(f) ~= 95 and not gone[f] then total = total + #f + json(#all[i + 1]) end
    end
  end
  if total > room then return -2 end
  return nil
end`

// A new key gets its TTL after its fields (PEXPIRE needs the key). Should that PEXPIRE fail (a renamed
// command, an ACL that denies it), the key goes again rather than living on without expiry: by DEL, or,
// where DEL is denied too, by HDEL of the fields just written (HSET was allowed, so the hash commands
// are), which leaves the hash empty and so removes it.
const EXPIRE_NEW = `
local function expireNew(k, ttl, first, last)
  local done = redis.pcall('PEXPIRE', k, ttl)
  if type(done) ~= 'table' or not done.err then return nil end
  local gone = redis.pcall('DEL', k)
  if type(gone) == 'table' and gone.err then
    for i = first, last, 2 do redis.pcall('HDEL', k, ARGV[i]) end
  end
  return done
end`

function script(name: string, ttlAt: number | undefined, body: string): Script {
  const check = ttlAt === undefined ? '' : CHECK_TTL.replace('TTL', String(ttlAt))
  const source = `${check}\n${body.trim()}\n`
  const doing = name === 'revoke' ? 'ending the session' : 'saving the session'
  return { name, doing, source, sha: createHash('sha1').update(source).digest('hex') }
}

/**
 * CREATE. KEYS: session. ARGV: ttl, then field/value pairs. Refuses an existing key (a custom `genid`
 * repeating itself). Returns 1 when created, 0 when refused.
 */
export const CREATE = script(
  'create',
  1,
  `
${EXPIRE_NEW}
local k = KEYS[1]
if redis.call('EXISTS', k) == 1 then return 0 end
for i = 2, #ARGV, 1000 do redis.call('HSET', k, unpack(ARGV, i, math.min(i + 999, #ARGV))) end
return expireNew(k, ttl, 2, #ARGV) or 1
`,
)

/**
 * UPDATE. KEYS: session. ARGV: ttl, data field cap (`maxKeys`; 0: none), JSON byte cap (`maxBytes`; 0:
 * none), sealed ('1': values are sealed), n, n field/value pairs, then the fields to delete. The expiry
 * comes first and doubles as the existence check: a destroyed, regenerated or expired session is refused
 * (0) and nothing is written back.
 * Returns 1 when written, -1 when the session would hold more data fields than the cap, -2 when its
 * data would hold more bytes of JSON than the byte cap (nothing written).
 */
export const UPDATE = script(
  'update',
  1,
  `
${OVER_LIMITS}
local k = KEYS[1]
if redis.call('PEXPIRE', k, ttl) == 0 then return 0 end
local last = 5 + 2 * tonumber(ARGV[5])
local over = overLimits(k, tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4] == '1', 6, last, #ARGV)
if over then return over end
for i = 6, last, 1000 do redis.call('HSET', k, unpack(ARGV, i, math.min(i + 999, last))) end
for i = last + 1, #ARGV, 1000 do redis.call('HDEL', k, unpack(ARGV, i, math.min(i + 999, #ARGV))) end
return 1
`,
)

/**
 * OWNED: a write of a session that has an owner, and the owner's index with it. KEYS: session, user
 * index. ARGV: mode, ttl, field cap, byte cap and sealed (as UPDATE's), n, n field/value pairs, the
 * fields to delete, then member, expiry, now, cap.
 * Modes: 'c' creates (as CREATE), adds the member, prunes up to 100 expired members and returns the
 * members beyond the cap (least recent first) for the caller to revoke; 'u' updates (as UPDATE) and
 * moves the member's score to its new expiry. Both then fit the index's TTL to its latest member, so a
 * shortened `maxAge` shortens the index too; 'l' updates and takes the member out (the owner logged
 * out, the session lives on). Returns 0 when refused, else 1 or the members beyond the cap.
 */
export const OWNED = script(
  'owned',
  2,
  `
${FIT_INDEX}
${OVER_LIMITS}
${EXPIRE_NEW}
local k, ik, mode = KEYS[1], KEYS[2], ARGV[1]
local last = #ARGV - 4
local member, expiry, now, cap = ARGV[last + 1], ARGV[last + 2], tonumber(ARGV[last + 3]), tonumber(ARGV[last + 4])
local n = 6 + 2 * tonumber(ARGV[6])
if mode == 'c' then
  if redis.call('EXISTS', k) == 1 then return 0 end
elseif redis.call('PEXPIRE', k, ttl) == 0 then return 0 end
if mode ~= 'c' then
  local over = overLimits(k, tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1', 7, n, last)
  if over then return over end
end
for i = 7, n, 1000 do redis.call('HSET', k, unpack(ARGV, i, math.min(i + 999, n))) end
for i = n + 1, last, 1000 do redis.call('HDEL', k, unpack(ARGV, i, math.min(i + 999, last))) end
if mode == 'c' then
  local failed = expireNew(k, ttl, 7, n)
  if failed then return failed end
end
if mode == 'l' then
  redis.call('ZREM', ik, member)
  fitIndex(ik, now)
  return 1
end
redis.call('ZADD', ik, expiry, member)
if mode ~= 'c' then
  fitIndex(ik, now)
  return 1
end
local dead = redis.call('ZRANGEBYSCORE', ik, '-inf', '(' .. now, 'LIMIT', 0, 100)
if #dead > 0 then redis.call('ZREM', ik, unpack(dead)) end
fitIndex(ik, now)
local over = math.min(redis.call('ZCARD', ik) - cap, 100)
if over <= 0 then return 1 end
local out = {}
for _, m in ipairs(redis.call('ZRANGE', ik, 0, over)) do
  if m ~= member and #out < over then out[#out + 1] = m end
end
return out
`,
)

/**
 * REVOKE. KEYS: user index, then sessions of that user (one slot). ARGV: now, owner check ('1': only
 * sessions whose `_u` is the given user hash; '0': any), user hash, then one member per session key.
 * Deletes the sessions, takes their members out of the index, refits its TTL. Returns the number deleted.
 */
export const REVOKE = script(
  'revoke',
  undefined,
  `
${FIT_INDEX}
local ik, now, owned, user = KEYS[1], tonumber(ARGV[1]), ARGV[2] == '1', ARGV[3]
local n = 0
for i = 2, #KEYS do
  if not owned or redis.call('HGET', KEYS[i], '_u') == user then n = n + redis.call('DEL', KEYS[i]) end
  redis.call('ZREM', ik, ARGV[i + 2])
end
fitIndex(ik, now)
return n
`,
)

/**
 * REPLACE. KEYS: session. ARGV: ttl, then field/value pairs. koa-session's whole-session `set` on an
 * existing session: sets the fields and deletes the data fields not given (metadata stays). Returns 0
 * when the session does not exist, else 1.
 */
export const REPLACE = script(
  'replace',
  1,
  `
local k = KEYS[1]
if redis.call('PEXPIRE', k, ttl) == 0 then return 0 end
local keep = ${META_SET}
local del = {}
for i = 2, #ARGV, 2 do keep[ARGV[i]] = true end
for _, f in ipairs(redis.call('HKEYS', k)) do
  if not keep[f] then del[#del + 1] = f end
end
for i = 1, #del, 1000 do redis.call('HDEL', k, unpack(del, i, math.min(i + 999, #del))) end
for i = 2, #ARGV, 1000 do redis.call('HSET', k, unpack(ARGV, i, math.min(i + 999, #ARGV))) end
return 1
`,
)

/**
 * RESEAL. KEYS: session. ARGV: field, from, to, ... Sets each field to `to` only where it still holds
 * `from` (a key rotation never overwrites a change made meanwhile); a missing session stays missing.
 */
export const RESEAL = script(
  'reseal',
  undefined,
  `
local k = KEYS[1]
for i = 1, #ARGV, 3 do
  if redis.call('HGET', k, ARGV[i]) == ARGV[i + 1] then redis.call('HSET', k, ARGV[i], ARGV[i + 2]) end
end
return 1
`,
)

/**
 * UNTRACK. KEYS: a session key that a tracked read found empty (a logout elsewhere landed between the
 * plain read and the tracked one). Redis keeps a tracking entry for such a key until it is modified,
 * which for a random id is never: a write and a delete in one step modify it without anyone seeing a
 * value, and Redis drops the entry. Does nothing if the key exists.
 */
export const UNTRACK = script(
  'untrack',
  undefined,
  `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], '', 'PX', 1)
redis.call('DEL', KEYS[1])
return 1
`,
)
