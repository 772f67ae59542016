-- Remove the index entries whose record is gone (an old-layer process deleted it, or it
-- expired); records themselves are never touched.
-- KEYS[1] the index: a set, or a sorted set (the expiry index)
-- ARGV[1] the record key prefix
-- Returns how many entries were removed.
local function expect_one_of(key, kinds)
  local found = redis.call('TYPE', key).ok
  if found ~= 'none' and not kinds[found] then error({err = 'WRONGTYPE key=' .. key}) end
end
expect_one_of(KEYS[1], {set = true, zset = true})
local sorted = redis.call('TYPE', KEYS[1]).ok == 'zset'
local members
if sorted then
  members = redis.call('ZRANGE', KEYS[1], 0, -1)
else
  members = redis.call('SMEMBERS', KEYS[1])
end
local removed = 0
for _, member in ipairs(members) do
  if redis.call('EXISTS', ARGV[1] .. member) == 0 then
    if sorted then
      removed = removed + redis.call('ZREM', KEYS[1], member)
    else
      removed = removed + redis.call('SREM', KEYS[1], member)
    end
  end
end
return removed
