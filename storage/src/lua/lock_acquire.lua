-- Take a lock if free, with a fresh fencing token, and its TTL in the same SET.
-- KEYS[1] lock:{name}, KEYS[2] lock:fence:{name}
-- ARGV[1] holder id, ARGV[2] TTL in milliseconds
-- Returns the fencing token, or nil when the lock is held.
-- Every key is checked for its type before anything is written: a call that fails changes
-- nothing, and the error names the key.
local function expect(key, kind)
  local found = redis.call('TYPE', key).ok
  if found ~= 'none' and found ~= kind then error({err = 'WRONGTYPE key=' .. key}) end
end
expect(KEYS[1], 'string')
expect(KEYS[2], 'string')
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
return token
