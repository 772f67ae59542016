-- Every record named by an index, in one round trip.
-- KEYS[1] the index: a set, or (with ARGV[2]) a sorted set scored by expiry
-- ARGV[1] the record key prefix (record key = prefix .. member)
-- ARGV[2] optional: only members scored at most this, soonest first
-- Returns a flat array: member, record, member, record, ... Members whose record is gone
-- (a writer removed it between the old layer's separate commands) are skipped.
local members
if ARGV[2] then
  members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
else
  members = redis.call('SMEMBERS', KEYS[1])
end
local out = {}
for _, member in ipairs(members) do
  local record = redis.call('GET', ARGV[1] .. member)
  if record then
    out[#out + 1] = member
    out[#out + 1] = record
  end
end
return out
