-- Extend a lock's lease, only for its holder; the TTL is set in the same SET.
-- KEYS[1] lock:{name}
-- ARGV[1] the holder's value, ARGV[2] TTL in milliseconds
-- Returns 1 when renewed, 0 when the lock is no longer this holder's.
expect(KEYS[1], 'string')
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'XX', 'PX', ARGV[2])
return 1
