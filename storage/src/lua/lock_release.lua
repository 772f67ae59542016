-- Release a lock, only for its holder: a stale holder's release does nothing.
-- KEYS[1] lock:{name}
-- ARGV[1] the holder's value
-- Returns 1 when released, 0 when the lock was no longer this holder's.
expect(KEYS[1], 'string')
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
