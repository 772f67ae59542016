-- Take a lock if free, with a fresh fencing token, and its TTL in the same SET.
-- KEYS[1] lock:{name}, KEYS[2] lock:fence:{name}
-- ARGV[1] holder id, ARGV[2] TTL in milliseconds
-- Returns the fencing token, or nil when the lock is held.
expect(KEYS[1], 'string')
expect(KEYS[2], 'string')
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'PX', ARGV[2])
return token
