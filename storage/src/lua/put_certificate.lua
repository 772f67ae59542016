-- Write a certificate with its domain index keys and expiry index entry, all or nothing.
-- One certificate per domain: a domain owned by another live certificate is a conflict.
-- KEYS[1] cert:{name}, KEYS[2] index:certs, KEYS[3] index:cert-expiry,
-- KEYS[4] lock:fence:{lock} when fenced (else any key of the family),
-- KEYS[5 .. 4+n] cert:domain:{d} of the new domains, then those of domains the write drops,
-- then the change feed's keys
-- ARGV[1] "absent" (create only) or "exact" (replace the record read as ARGV[2]),
-- ARGV[2] expected record, ARGV[3] new JSON, ARGV[4] name, ARGV[5] expiry (Unix s) or "",
-- ARGV[6] n, ARGV[7] fencing token or "", ARGV[8] certificate record key prefix
-- Returns "ok", "stale", "fenced:{newest token}" or "conflict:{domain position}:{owner}".
local nkeys = #KEYS - FEED_KEYS
for i = 1, nkeys do
  expect(KEYS[i], (i == 2 and 'set') or (i == 3 and 'zset') or 'string')
end
check_feed()
if not still_as_read(KEYS[1], ARGV[1], ARGV[2]) then return 'stale' end
if ARGV[7] ~= '' then
  local newest = tonumber(redis.call('GET', KEYS[4]) or '0')
  if newest > tonumber(ARGV[7]) then return 'fenced:' .. newest end
end
local n = tonumber(ARGV[6])
for i = 1, n do
  local owner = redis.call('GET', KEYS[4 + i])
  if owner and owner ~= ARGV[4] and redis.call('EXISTS', ARGV[8] .. owner) == 1 then
    return 'conflict:' .. i .. ':' .. owner
  end
end
for i = 5 + n, nkeys do
  if redis.call('GET', KEYS[i]) == ARGV[4] then redis.call('DEL', KEYS[i]) end
end
for i = 1, n do
  redis.call('SET', KEYS[4 + i], ARGV[4])
end
local before = replace(KEYS[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[3], ARGV[4])
else
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4])
end
feed('certificate', ARGV[4], 'put', ARGV[3], before)
return 'ok'
