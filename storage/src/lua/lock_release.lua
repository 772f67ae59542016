-- Release a lock, only for its holder: a stale holder's release does nothing.
-- KEYS[1] lock:{name}
-- ARGV[1] the holder's value
-- Returns 1 when released, 0 when the lock was no longer this holder's.
-- Every key is checked for its type before anything is written: a call that fails changes
-- nothing, and the error names the key.
local function expect(key, kind)
  local found = redis.call('TYPE', key).ok
  if found ~= 'none' and found ~= kind then error({err = 'WRONGTYPE key=' .. key}) end
end
expect(KEYS[1], 'string')
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
