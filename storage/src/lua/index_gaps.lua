-- How far a family's index set is from its records: ids a keyspace scan found that the index
-- lacks, and index entries whose record is gone.
-- KEYS[1] the index set
-- ARGV[1] the record key prefix, ARGV[2..] the ids a scan found
-- Returns {the unindexed ids, how many entries dangle}.
expect(KEYS[1], 'set')
local unindexed = {}
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 0 then unindexed[#unindexed + 1] = ARGV[i] end
end
local dangling = 0
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. member) == 0 then dangling = dangling + 1 end
end
return {unindexed, dangling}
