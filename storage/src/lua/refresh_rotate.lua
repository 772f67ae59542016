-- Rotate a refresh token: the presented token must be the family's current one. A retry of
-- the just-rotated token within the grace window gets a fresh successor (the previous
-- successor stops working). Any other already-used token revokes the whole family.
-- KEYS[1] oauth:refresh:{family} (hash), KEYS[2] its used-token set
-- ARGV[1] presented token hash, ARGV[2] successor hash, ARGV[3] now (ms), ARGV[4] grace (ms),
-- ARGV[5] client_id
-- Returns {"rotated"|"retried", user, scope}, {"reused"}, {"revoked"}, {"wrong_client"} or
-- {"unknown"}, or {"corrupt"} for a family record that lacks its fields (left as it is).
expect(KEYS[1], 'hash')
expect(KEYS[2], 'set')
if redis.call('EXISTS', KEYS[1]) == 0 then return {'unknown'} end
local f = redis.call('HMGET', KEYS[1], 'current', 'previous', 'rotated_at', 'revoked', 'client_id', 'user', 'scope')
if not f[1] or not f[2] or not tonumber(f[3]) or not f[5] then return {'corrupt'} end
if f[4] == '1' then return {'revoked'} end
if f[5] ~= ARGV[5] then return {'wrong_client'} end
local ttl = redis.call('PTTL', KEYS[1])
local function used(hash)
  redis.call('SADD', KEYS[2], hash)
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
if ARGV[1] == f[1] then
  used(ARGV[1])
  redis.call('HSET', KEYS[1], 'current', ARGV[2], 'previous', ARGV[1], 'rotated_at', ARGV[3])
  return {'rotated', f[6], f[7]}
end
if ARGV[1] == f[2] and tonumber(ARGV[3]) - tonumber(f[3]) <= tonumber(ARGV[4]) then
  used(f[1])
  redis.call('HSET', KEYS[1], 'current', ARGV[2])
  return {'retried', f[6], f[7]}
end
if ARGV[1] == f[2] or redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  return {'reused'}
end
return {'unknown'}
