-- Write a route, its legacy index keys and its index entry, enforcing that one route owns a
-- path at a priority. All or nothing.
-- KEYS[1] route:{id}, KEYS[2] route:unique:{b64 path}:{prio}, KEYS[3] route:priority:{rank}:{id},
-- KEYS[4] index:routes, optionally KEYS[5] and KEYS[6]: the previous unique and priority keys,
-- then the change feed's keys
-- ARGV[1] "absent" (create only) or "exact" (replace the record read as ARGV[2])
-- ARGV[2] expected current record, ARGV[3] new JSON record, ARGV[4] route id,
-- ARGV[5] route record key prefix (to tell a live owner from a dangling uniqueness key)
-- Returns "ok", "stale" (the record changed since it was read), or "conflict:{owner id}".
local nkeys = #KEYS - FEED_KEYS
for i = 1, nkeys do expect(KEYS[i], i == 4 and 'set' or 'string') end
check_feed()
if not still_as_read(KEYS[1], ARGV[1], ARGV[2]) then return 'stale' end
local owner = redis.call('GET', KEYS[2])
if owner and owner ~= ARGV[4] and redis.call('EXISTS', ARGV[5] .. owner) == 1 then
  return 'conflict:' .. owner
end
if nkeys >= 6 then
  if KEYS[5] ~= KEYS[2] and redis.call('GET', KEYS[5]) == ARGV[4] then
    redis.call('DEL', KEYS[5])
  end
  if KEYS[6] ~= KEYS[3] then
    redis.call('DEL', KEYS[6])
  end
end
local before = replace(KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[4])
redis.call('SET', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[4])
feed('route', ARGV[4], 'put', ARGV[3], before)
return 'ok'
