-- How far a family's index set is from its records: ids a keyspace scan found that the index
-- lacks, and index entries whose record is gone.
-- KEYS[1] the index set
-- ARGV[1] the record key prefix, ARGV[2..] the ids a scan found
-- Returns {unindexed, dangling}.
-- Every key is checked for its type before anything is written: a call that fails changes
-- nothing, and the error names the key.
local function expect(key, kind)
  local found = redis.call('TYPE', key).ok
  if found ~= 'none' and found ~= kind then error({err = 'WRONGTYPE key=' .. key}) end
end
expect(KEYS[1], 'set')
local unindexed = 0
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 0 then unindexed = unindexed + 1 end
end
local dangling = 0
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. member) == 0 then dangling = dangling + 1 end
end
return {unindexed, dangling}
