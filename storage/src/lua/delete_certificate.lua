-- Remove a certificate, its domain and expiry index entries, and its name from every proxy
-- that refers to it, all or nothing: no proxy is left pointing at a deleted certificate.
-- KEYS[1] cert:{name}, KEYS[2] index:certs, KEYS[3] index:cert-expiry, KEYS[4] index:proxies,
-- KEYS[5 .. 4+d] the certificate's domain keys, then the keys of the r proxies to rewrite,
-- then the change feed's keys
-- ARGV[1] the record as read, ARGV[2] name, ARGV[3] d, ARGV[4] proxy record key prefix,
-- ARGV[5] r, then per proxy to rewrite: hostname, record as read, rewritten record, then the
-- hostnames a keyspace scan found (old-layer proxies in no index)
-- Returns "ok" or "stale" (something changed since it was read, or another proxy now
-- refers to the certificate). A proxy refers to it when its decoded top-level `cert_name`
-- is the name; a proxy that does not decode cannot refer to anything.
for i = 1, #KEYS - FEED_KEYS do
  expect(KEYS[i], ((i == 2 or i == 4) and 'set') or (i == 3 and 'zset') or 'string')
end
check_feed()
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'stale' end
local d, r = tonumber(ARGV[3]), tonumber(ARGV[5])
local rewriting = {}
for i = 0, r - 1 do rewriting[ARGV[6 + 3 * i]] = true end
local function refers(record)
  local ok, proxy = pcall(cjson.decode, record)
  return ok and type(proxy) == 'table' and proxy.cert_name == ARGV[2]
end
local hosts = redis.call('SMEMBERS', KEYS[4])
for i = 6 + 3 * r, #ARGV - AUDIT_ARGS do hosts[#hosts + 1] = ARGV[i] end
for _, host in ipairs(hosts) do
  if not rewriting[host] then
    local record = redis.pcall('GET', ARGV[4] .. host)
    if type(record) == 'string' and refers(record) then return 'stale' end
  end
end
for i = 0, r - 1 do
  if redis.call('GET', KEYS[5 + d + i]) ~= ARGV[7 + 3 * i] then return 'stale' end
end
for i = 0, r - 1 do
  redis.call('SET', KEYS[5 + d + i], ARGV[8 + 3 * i])
  feed('proxy', ARGV[6 + 3 * i], 'put', ARGV[8 + 3 * i], ARGV[7 + 3 * i])
end
for i = 5, 4 + d do
  if redis.call('GET', KEYS[i]) == ARGV[2] then redis.call('DEL', KEYS[i]) end
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
feed('certificate', ARGV[2], 'delete', nil, ARGV[1])
return 'ok'
