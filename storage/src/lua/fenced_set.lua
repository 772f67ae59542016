-- Write a value only if the writer's fencing token is still the newest its lock issued.
-- KEYS[1] the key, KEYS[2] lock:fence:{lock}
-- ARGV[1] the writer's token, ARGV[2] the value
-- Returns "ok" or "fenced:{newest token}".
expect(KEYS[1], 'string')
expect(KEYS[2], 'string')
local newest = tonumber(redis.call('GET', KEYS[2]) or '0')
if newest > tonumber(ARGV[1]) then return 'fenced:' .. newest end
redis.call('SET', KEYS[1], ARGV[2])
return 'ok'
