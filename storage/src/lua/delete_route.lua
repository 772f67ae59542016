-- Remove a route with its legacy index keys and its index entry. All or nothing.
-- KEYS[1] route:{id}, KEYS[2] index:routes, optionally KEYS[3] unique key, KEYS[4] priority key,
-- then the change feed's keys
-- ARGV[1] the record as read, ARGV[2] route id
-- Returns "ok" or "stale" (the record changed since it was read).
local nkeys = #KEYS - FEED_KEYS
for i = 1, nkeys do expect(KEYS[i], i == 2 and 'set' or 'string') end
check_feed()
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 'stale'
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
if nkeys >= 4 then
  if redis.call('GET', KEYS[3]) == ARGV[2] then
    redis.call('DEL', KEYS[3])
  end
  redis.call('DEL', KEYS[4])
end
feed('route', ARGV[2], 'delete', nil, ARGV[1])
return 'ok'
