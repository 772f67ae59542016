-- Redeem an authorization code once. The record is replaced by a tombstone that keeps the
-- code's TTL, so a second use is reported as a replay (RFC 6749 4.1.2), not as unknown.
-- KEYS[1] oauth:code:{hash}
-- ARGV[1] client_id, ARGV[2] redirect_uri
-- Returns {"redeemed", record}, {"replayed", family or ""}, {"unknown"},
-- {"wrong_client"}, {"wrong_redirect_uri"} or {"corrupt"} (not a code record; left as it is).
expect(KEYS[1], 'string')
local stored = redis.call('GET', KEYS[1])
if not stored then return {'unknown'} end
-- Decoded and checked before anything is written: a record that is not a code stays as it is.
local decoded, record = pcall(cjson.decode, stored)
if not decoded or type(record) ~= 'table' then return {'corrupt'} end
if record.consumed == true then
  return {'replayed', type(record.family) == 'string' and record.family or ''}
end
for _, field in ipairs({'client_id', 'redirect_uri', 'scope', 'user', 'code_challenge', 'code_challenge_method'}) do
  if type(record[field]) ~= 'string' then return {'corrupt'} end
end
if record.client_id ~= ARGV[1] then return {'wrong_client'} end
if record.redirect_uri ~= ARGV[2] then return {'wrong_redirect_uri'} end
redis.call('SET', KEYS[1], cjson.encode({consumed = true, client_id = record.client_id}), 'KEEPTTL')
return {'redeemed', stored}
