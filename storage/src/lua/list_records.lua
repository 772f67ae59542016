-- Every record named by an index set, in one round trip.
-- KEYS[1] the index set
-- ARGV[1] the record key prefix (record key = prefix .. member)
-- Returns a flat array: member, record, member, record, ... Members whose record is gone
-- (a writer removed it between the old layer's separate commands) are skipped.
local out = {}
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local record = redis.call('GET', ARGV[1] .. member)
  if record then
    out[#out + 1] = member
    out[#out + 1] = record
  end
end
return out
