-- Replace a record only if it still holds the value the caller read (optimistic update),
-- keeping its TTL if it has one.
-- KEYS[1] record, then the change feed's keys
-- ARGV[1] expected value, ARGV[2] new value, ARGV[3] the family for the change feed (or ""),
-- ARGV[4] the record's id
-- Returns "ok" or "stale".
expect(KEYS[1], 'string')
check_feed()
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 'stale'
end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
if ARGV[3] ~= '' then feed(ARGV[3], ARGV[4], 'put', ARGV[2], ARGV[1]) end
return 'ok'
