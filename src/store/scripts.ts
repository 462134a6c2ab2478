/** The Lua scripts of RedisStore: only the steps that must be atomic, each on one hash slot, every key in KEYS. */
import { createHash } from 'node:crypto'
import { MAX_DURATION } from './lifetime.js'

/** A script with the SHA-1 that EVALSHA needs. */
export interface Script {
  readonly name: string
  readonly source: string
  readonly sha: string
}

// The TTL is checked before the first write: a script that fails after HSET would leave a key
// without expiry (Redis does not roll a script back). Values go in slices because Lua's unpack
// has a limit of a few thousand values. The index lives as long as its latest member's expiry.
const PRELUDE = `
local function checkTtl(ttl)
  local n = tonumber(ttl)
  if not n or n < 1 or n > ${MAX_DURATION} or n % 1 ~= 0 then
    return redis.error_reply('ERR koa-session-redis3: bad TTL')
  end
end
local function many(cmd, k, list, from, to)
  for i = from, to, 1000 do redis.call(cmd, k, unpack(list, i, math.min(i + 999, to))) end
end
local function fitIndex(ik, now)
  local top = redis.call('ZREVRANGE', ik, 0, 0, 'WITHSCORES')
  if top[2] and tonumber(top[2]) > now then
    redis.call('PEXPIRE', ik, string.format('%d', math.ceil(tonumber(top[2]) - now)))
  else
    redis.call('DEL', ik)
  end
end
`

function script(name: string, body: string): Script {
  const source = PRELUDE + body
  return { name, source, sha: createHash('sha1').update(source).digest('hex') }
}

/**
 * WRITE. KEYS: session [, user index]. ARGV: mode ('c' create, 'u' update, 'l' update that leaves
 * the index), ttl, n, n field/value pairs, then the fields to delete; with an index, the last four are
 * member, expiry, now, cap. Create refuses an existing key; update refuses a key without `_c`
 * (destroyed, regenerated, expired), so nothing is ever written back. Returns 0 when refused, 1 when
 * written, or the members beyond the cap (least recent first) for the caller to revoke.
 */
export const WRITE = script(
  'write',
  `
local k, ik, mode = KEYS[1], KEYS[2], ARGV[1]
local bad = checkTtl(ARGV[2])
if bad then return bad end
if mode == 'c' then
  if redis.call('EXISTS', k) == 1 then return 0 end
elseif redis.call('HEXISTS', k, '_c') == 0 then return 0 end
local last = #ARGV
if ik then last = last - 4 end
local n = tonumber(ARGV[3])
if n > 0 then many('HSET', k, ARGV, 4, 3 + 2 * n) end
if last >= 4 + 2 * n then many('HDEL', k, ARGV, 4 + 2 * n, last) end
redis.call('PEXPIRE', k, ARGV[2])
if not ik then return 1 end
local member, expiry, now, cap = ARGV[last + 1], ARGV[last + 2], tonumber(ARGV[last + 3]), tonumber(ARGV[last + 4])
if mode == 'l' then
  redis.call('ZREM', ik, member)
  fitIndex(ik, now)
  return 1
end
redis.call('ZADD', ik, expiry, member)
local dead = redis.call('ZRANGEBYSCORE', ik, '-inf', '(' .. now, 'LIMIT', 0, 100)
if #dead > 0 then redis.call('ZREM', ik, unpack(dead)) end
fitIndex(ik, now)
local over = math.min(redis.call('ZCARD', ik) - cap, 100)
if mode ~= 'c' or over <= 0 then return 1 end
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
 * Deletes the sessions and their members, refits the index's TTL. Returns the number deleted.
 */
export const REVOKE = script(
  'revoke',
  `
local ik, now, owned, user = KEYS[1], tonumber(ARGV[1]), ARGV[2] == '1', ARGV[3]
local n = 0
for i = 2, #KEYS do
  if not owned or redis.call('HGET', KEYS[i], '_u') == user then
    n = n + redis.call('DEL', KEYS[i])
    redis.call('ZREM', ik, ARGV[i + 2])
  end
end
fitIndex(ik, now)
return n
`,
)

/**
 * REPLACE. KEYS: session. ARGV: ttl, then field/value pairs. koa-session's whole-session `set` on an
 * existing session: sets the fields, deletes the data fields not given (the metadata of META stays). Returns 0
 * when the session does not exist, else 1.
 */
export const REPLACE = script(
  'replace',
  `
local k = KEYS[1]
local bad = checkTtl(ARGV[1])
if bad then return bad end
if redis.call('HEXISTS', k, '_c') == 0 then return 0 end
local keep = { _c = true, _t = true, _m = true, _e = true, _u = true, _a = true }
local del = {}
for i = 2, #ARGV, 2 do keep[ARGV[i]] = true end
for _, f in ipairs(redis.call('HKEYS', k)) do
  if not keep[f] then del[#del + 1] = f end
end
if #del > 0 then many('HDEL', k, del, 1, #del) end
if #ARGV > 1 then many('HSET', k, ARGV, 2, #ARGV) end
redis.call('PEXPIRE', k, ARGV[1])
return 1
`,
)
