-- Revoke a refresh family (if it still exists: never create a record without its TTL) and
-- name the access tokens issued in it.
-- KEYS[1] oauth:refresh:{family}, KEYS[2] its access-token set
-- Returns {1 if this call revoked it else 0, jti, jti, ...}.
expect(KEYS[1], 'hash')
expect(KEYS[2], 'set')
local revoked = 0
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HGET', KEYS[1], 'revoked') ~= '1' then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  revoked = 1
end
local out = {tostring(revoked)}
for _, jti in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  out[#out + 1] = jti
end
return out
