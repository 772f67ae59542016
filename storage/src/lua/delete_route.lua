-- Remove a route with its legacy index keys and its index entry. All or nothing.
-- KEYS[1] route:{id}, KEYS[2] index:routes, optionally KEYS[3] unique key, KEYS[4] priority key
-- ARGV[1] the record as read, ARGV[2] route id
-- Returns "ok" or "stale" (the record changed since it was read).
-- Every key is checked for its type before anything is written: a call that fails changes
-- nothing, and the error names the key.
local function expect(key, kind)
  local found = redis.call('TYPE', key).ok
  if found ~= 'none' and found ~= kind then error({err = 'WRONGTYPE key=' .. key}) end
end
for i = 1, #KEYS do expect(KEYS[i], i == 2 and 'set' or 'string') end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 'stale'
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
if KEYS[3] then
  if redis.call('GET', KEYS[3]) == ARGV[2] then
    redis.call('DEL', KEYS[3])
  end
  redis.call('DEL', KEYS[4])
end
return 'ok'
