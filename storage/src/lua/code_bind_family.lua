-- Record which refresh family was issued from a redeemed code, for revocation on replay.
-- KEYS[1] oauth:code:{hash}
-- ARGV[1] family id
-- Returns 1 when recorded, 0 when the code is not a redeemed one.
expect(KEYS[1], 'string')
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local decoded, record = pcall(cjson.decode, stored)
if not decoded or type(record) ~= 'table' or record.consumed ~= true then return 0 end
record.family = ARGV[1]
redis.call('SET', KEYS[1], cjson.encode(record), 'KEEPTTL')
return 1
