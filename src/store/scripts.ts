/** The Lua scripts behind every RedisStore operation: each is one atomic step on one hash slot. */
import { createHash } from 'node:crypto'

/** A script with the SHA-1 that EVALSHA needs. */
export interface Script {
  readonly name: string
  readonly source: string
  readonly sha: string
}

// Shared helpers. The user index key is derived from the session's own `_u` field rather than passed
// in KEYS: a script that loads a session cannot know its user beforehand. This stays Cluster-safe
// because ids are drawn so that a user's sessions share the slot tag of the user's index
// (see docs/DESIGN.md), so every key a script touches lives on the node KEYS[1] routed it to.
const PRELUDE = `
local function ikey(ks, u) return ks .. 'u:{' .. string.sub(u, 1, 1) .. '}' .. string.sub(u, 2) end
local function prune(ks, ik)
  local max = 0
  for _, m in ipairs(redis.call('SMEMBERS', ik)) do
    local t = redis.call('PTTL', ks .. m)
    if t < 0 then redis.call('SREM', ik, m) elseif t > max then max = t end
  end
  if max > 0 then redis.call('PEXPIRE', ik, max) else redis.call('DEL', ik) end
end
-- Variadic HSET/HDEL in slices: Lua's unpack has a limit of a few thousand values.
local function many(cmd, k, list)
  for i = 1, #list, 1000 do redis.call(cmd, k, unpack(list, i, math.min(i + 999, #list))) end
end
local function drop(ks, k, u)
  redis.call('DEL', k)
  if u then
    local ik = ikey(ks, u)
    redis.call('SREM', ik, string.sub(k, #ks + 1))
    prune(ks, ik)
  end
end
`

function script(name: string, body: string): Script {
  const source = PRELUDE + body
  return { name, source, sha: createHash('sha1').update(source).digest('hex') }
}

/**
 * LOAD. KEYS: session. ARGV: keySchema, now, ttl, absoluteTimeout.
 * Returns the hash as a flat array, nil when unknown, 0 when the absolute timeout ended it (then
 * deleted). Slides the TTL in the same step, capped by what is left of the absolute lifetime.
 */
export const LOAD = script(
  'load',
  `
local k, ks = KEYS[1], ARGV[1]
local h = redis.call('HGETALL', k)
if #h == 0 then return false end
local now, ttl, abs = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local c, m, u, s
for i = 1, #h, 2 do
  local f = h[i]
  if f == '_c' then c = tonumber(h[i + 1])
  elseif f == '_m' then m = tonumber(h[i + 1])
  elseif f == '_u' then u = h[i + 1]
  elseif f == '_s' then s = tonumber(h[i + 1]) end
end
if m then ttl = m end
if abs > 0 and c then
  local left = c + abs - now
  if left <= 0 then drop(ks, k, u) return 0 end
  if left < ttl then ttl = left end
end
redis.call('PEXPIRE', k, ttl)
if u then
  local ik = ikey(ks, u)
  if redis.call('PTTL', ik) < ttl then redis.call('PEXPIRE', ik, ttl) end
  if not s or now - s >= 60000 then redis.call('HSET', k, '_s', now) end
end
return h
`,
)

/**
 * WRITE. KEYS: session. ARGV: keySchema, mode, now, ttl, absoluteTimeout, n, n field/value pairs,
 * then fields to delete. Mode 'c' creates and refuses an existing key; 'u' updates and 'r' replaces
 * (deletes the data fields not given) and both refuse a missing key, so a destroyed, regenerated or
 * expired session is never written back. Returns 1 when written, 0 when refused.
 */
export const WRITE = script(
  'write',
  `
local k, ks, mode = KEYS[1], ARGV[1], ARGV[2]
local now, ttl, abs, n = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local c, oldu
if mode == 'c' then
  if redis.call('EXISTS', k) == 1 then return 0 end
else
  -- Every session is written with _c: no _c means no session (destroyed, regenerated, expired).
  local meta = redis.call('HMGET', k, '_c', '_u')
  c, oldu = tonumber(meta[1]), meta[2]
  if not c then return 0 end
end
local u = oldu
local set, del = {}, {}
for i = 1, n do
  local f, v = ARGV[5 + 2 * i], ARGV[6 + 2 * i]
  if f == '_c' then c = tonumber(v) elseif f == '_u' then u = v end
  set[#set + 1] = f
  set[#set + 1] = v
end
for i = 7 + 2 * n, #ARGV do
  if ARGV[i] == '_u' then u = false end
  del[#del + 1] = ARGV[i]
end
if not c then
  c = now
  set[#set + 1] = '_c'
  set[#set + 1] = now
end
if abs > 0 then
  local left = c + abs - now
  if left <= 0 then drop(ks, k, oldu) return 0 end
  if left < ttl then ttl = left end
end
if mode == 'r' then
  local keep = {}
  for i = 1, #set, 2 do keep[set[i]] = true end
  for _, f in ipairs(redis.call('HKEYS', k)) do
    if not keep[f] and not (f == '_c' or f == '_s' or f == '_m' or f == '_e' or f == '_u' or f == '_a') then
      del[#del + 1] = f
    end
  end
end
if u then
  set[#set + 1] = '_s'
  set[#set + 1] = now
end
many('HSET', k, set)
many('HDEL', k, del)
redis.call('PEXPIRE', k, ttl)
local member = string.sub(k, #ks + 1)
if oldu and oldu ~= u then
  local oik = ikey(ks, oldu)
  redis.call('SREM', oik, member)
  prune(ks, oik)
end
if u then
  local ik = ikey(ks, u)
  if redis.call('SADD', ik, member) == 1 then prune(ks, ik) end
  if redis.call('PTTL', ik) < ttl then redis.call('PEXPIRE', ik, ttl) end
end
return 1
`,
)

/** DESTROY. KEYS: session. ARGV: keySchema. Deletes the session and its user-index entry; returns 1 if it existed. */
export const DESTROY = script(
  'destroy',
  `
local k, ks = KEYS[1], ARGV[1]
local existed = redis.call('EXISTS', k)
drop(ks, k, redis.call('HGET', k, '_u'))
return existed
`,
)

/**
 * LIST. KEYS: user index. ARGV: keySchema. Prunes dead entries, then returns flat
 * [member, createdAt, lastSeenAt, userAgent, ...] for each live session.
 */
export const LIST = script(
  'list',
  `
local ik, ks = KEYS[1], ARGV[1]
prune(ks, ik)
local out = {}
for _, m in ipairs(redis.call('SMEMBERS', ik)) do
  local v = redis.call('HMGET', ks .. m, '_c', '_s', '_a')
  table.insert(out, m)
  table.insert(out, v[1] or '0')
  table.insert(out, v[2] or v[1] or '0')
  table.insert(out, v[3] or '')
end
return out
`,
)

/** DESTROY_USER. KEYS: user index. ARGV: keySchema, member to keep (or ''). Returns sessions deleted. */
export const DESTROY_USER = script(
  'destroy-user',
  `
local ik, ks, keep = KEYS[1], ARGV[1], ARGV[2]
local n = 0
for _, m in ipairs(redis.call('SMEMBERS', ik)) do
  if m ~= keep then
    n = n + redis.call('DEL', ks .. m)
    redis.call('SREM', ik, m)
  end
end
prune(ks, ik)
return n
`,
)
