-- The records whose expiry score is at most ARGV[1], soonest first, in one round trip.
-- KEYS[1] the expiry sorted set
-- ARGV[1] the latest expiry (Unix s), ARGV[2] the record key prefix
-- Returns a flat array: member, record, ... (members whose record is gone are skipped).
local out = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do
  local record = redis.call('GET', ARGV[2] .. member)
  if record then
    out[#out + 1] = member
    out[#out + 1] = record
  end
end
return out
