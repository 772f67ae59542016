-- Write a record and its index entry together.
-- KEYS[1] the record, KEYS[2] its family's index set, then the change feed's keys
-- ARGV[1] JSON record, ARGV[2] index member (hostname, id), ARGV[3] "absent" to write only if
-- no record exists, ARGV[4] a TTL in seconds for the record or "", ARGV[5] the family for the
-- change feed, or "" for a family outside it
-- Returns "ok" or "stale" (a record exists and ARGV[3] was "absent").
expect(KEYS[1], 'string')
expect(KEYS[2], 'set')
check_feed()
if ARGV[3] == 'absent' and redis.call('EXISTS', KEYS[1]) == 1 then
  return 'stale'
end
local before = replace(KEYS[1], ARGV[1], ARGV[4] ~= '' and ARGV[4] or nil)
redis.call('SADD', KEYS[2], ARGV[2])
if ARGV[5] ~= '' then feed(ARGV[5], ARGV[2], 'put', ARGV[1], before) end
return 'ok'
