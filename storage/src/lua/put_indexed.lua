-- Write a record and its index entry together.
-- KEYS[1] the record, KEYS[2] its family's index set
-- ARGV[1] JSON record, ARGV[2] index member (hostname, id), ARGV[3] "absent" to write only if
-- no record exists, optionally ARGV[4] a TTL in seconds for the record
-- Returns "ok" or "stale" (a record exists and ARGV[3] was "absent").
-- Every key is checked for its type before anything is written: a call that fails changes
-- nothing, and the error names the key.
local function expect(key, kind)
  local found = redis.call('TYPE', key).ok
  if found ~= 'none' and found ~= kind then error({err = 'WRONGTYPE key=' .. key}) end
end
expect(KEYS[1], 'string')
expect(KEYS[2], 'set')
if ARGV[3] == 'absent' and redis.call('EXISTS', KEYS[1]) == 1 then
  return 'stale'
end
if ARGV[4] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('SADD', KEYS[2], ARGV[2])
return 'ok'
