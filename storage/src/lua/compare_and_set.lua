-- Replace a record only if it still holds the value the caller read (optimistic update),
-- keeping its TTL if it has one.
-- KEYS[1] record
-- ARGV[1] expected value, ARGV[2] new value
-- Returns "ok" or "stale".
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 'stale'
end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 'ok'
