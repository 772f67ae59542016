-- Remove a record and its index entry together.
-- KEYS[1] the record, KEYS[2] its family's index set, then the change feed's keys
-- ARGV[1] index member (hostname, id), ARGV[2] the family for the change feed, or "",
-- ARGV[3] "exact" to remove it only if it still holds ARGV[4]
-- Returns the number of records removed (0 or 1), or "stale" (it holds something else).
expect(KEYS[1], 'string')
expect(KEYS[2], 'set')
check_feed()
local before
if ARGV[3] == 'exact' then
  if redis.call('GET', KEYS[1]) ~= ARGV[4] then return 'stale' end
  before = ARGV[4]
elseif ARGV[2] ~= '' then
  before = before_delete(KEYS[1])
end
redis.call('SREM', KEYS[2], ARGV[1])
local removed = redis.call('DEL', KEYS[1])
if removed == 1 and ARGV[2] ~= '' then feed(ARGV[2], ARGV[1], 'delete', nil, before) end
return removed
