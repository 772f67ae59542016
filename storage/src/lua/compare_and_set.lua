-- Replace a record only if it still holds the value the caller read (optimistic update),
-- keeping its TTL if it has one.
-- KEYS[1] record
-- ARGV[1] expected value, ARGV[2] new value
-- Returns "ok" or "stale".
-- Every key is checked for its type before anything is written: a call that fails changes
-- nothing, and the error names the key.
local function expect(key, kind)
  local found = redis.call('TYPE', key).ok
  if found ~= 'none' and found ~= kind then error({err = 'WRONGTYPE key=' .. key}) end
end
expect(KEYS[1], 'string')
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 'stale'
end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 'ok'
