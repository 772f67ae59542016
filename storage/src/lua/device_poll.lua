-- A device's poll for its token (RFC 8628 3.4/3.5): enforces the interval, redeems an
-- approved authorization once.
-- KEYS[1] device_code:{hash}
-- ARGV[1] client_id, ARGV[2] now (ms)
-- Returns {"expired"}, {"wrong_client"}, {"slow_down", interval s}, {"pending"},
-- {"denied"}, {"redeemed"}, {"approved", user, scope}, or {"corrupt"} for a record that
-- lacks its fields (left as it is).
expect(KEYS[1], 'hash')
if redis.call('EXISTS', KEYS[1]) == 0 then return {'expired'} end
local d = redis.call('HMGET', KEYS[1], 'client_id', 'interval', 'last_poll', 'status', 'user', 'scope')
if not tonumber(d[2]) or not tonumber(d[3]) or not d[4] then return {'corrupt'} end
if d[1] ~= ARGV[1] then return {'wrong_client'} end
local now = tonumber(ARGV[2])
local interval = tonumber(d[2])
if now - tonumber(d[3]) < interval * 1000 then
  interval = interval + 5
  redis.call('HSET', KEYS[1], 'interval', interval, 'last_poll', now)
  return {'slow_down', tostring(interval)}
end
redis.call('HSET', KEYS[1], 'last_poll', now)
if d[4] == 'approved' then
  redis.call('HSET', KEYS[1], 'status', 'redeemed')
  return {'approved', d[5], d[6]}
end
return {d[4]}
