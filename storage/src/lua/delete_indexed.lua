-- Remove a record and its index entry together.
-- KEYS[1] the record, KEYS[2] its family's index set
-- ARGV[1] index member (hostname, id)
-- Returns the number of records removed (0 or 1).
redis.call('SREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
