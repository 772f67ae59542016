-- Remove a record and its index entry together.
-- KEYS[1] the record, KEYS[2] its family's index set
-- ARGV[1] index member (hostname, id)
-- Returns the number of records removed (0 or 1).
-- Every key is checked for its type before anything is written: a call that fails changes
-- nothing, and the error names the key.
local function expect(key, kind)
  local found = redis.call('TYPE', key).ok
  if found ~= 'none' and found ~= kind then error({err = 'WRONGTYPE key=' .. key}) end
end
expect(KEYS[1], 'string')
expect(KEYS[2], 'set')
redis.call('SREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
