-- Remove a certificate, its domain and expiry index entries, and its name from every proxy
-- that refers to it, all or nothing: no proxy is left pointing at a deleted certificate.
-- KEYS[1] cert:{name}, KEYS[2] index:certs, KEYS[3] index:cert-expiry, KEYS[4] index:proxies,
-- KEYS[5 .. 4+d] the certificate's domain keys, then the keys of the proxies to rewrite
-- ARGV[1] the record as read, ARGV[2] name, ARGV[3] d, ARGV[4] proxy record key prefix,
-- then per proxy to rewrite: hostname, record as read, rewritten record
-- Returns "ok" or "stale" (something changed since it was read, or another proxy now
-- refers to the certificate).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'stale' end
local d = tonumber(ARGV[3])
local rewriting = {}
for i = 5, #ARGV, 3 do rewriting[ARGV[i]] = true end
local compact = '"cert_name":"' .. ARGV[2] .. '"'
local spaced = '"cert_name": "' .. ARGV[2] .. '"'
for _, host in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  if not rewriting[host] then
    local record = redis.call('GET', ARGV[4] .. host)
    if record and (string.find(record, compact, 1, true) or string.find(record, spaced, 1, true)) then
      return 'stale'
    end
  end
end
local proxy = 5 + d
for i = 5, #ARGV, 3 do
  if redis.call('GET', KEYS[proxy]) ~= ARGV[i + 1] then return 'stale' end
  proxy = proxy + 1
end
proxy = 5 + d
for i = 5, #ARGV, 3 do
  redis.call('SET', KEYS[proxy], ARGV[i + 2])
  proxy = proxy + 1
end
for i = 5, 4 + d do
  if redis.call('GET', KEYS[i]) == ARGV[2] then redis.call('DEL', KEYS[i]) end
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
return 'ok'
