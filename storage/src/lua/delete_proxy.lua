-- Remove a proxy record and its index entry together.
-- KEYS[1] proxy:{hostname}, KEYS[2] index:proxies
-- ARGV[1] hostname
-- Returns the number of records removed (0 or 1).
redis.call('SREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
