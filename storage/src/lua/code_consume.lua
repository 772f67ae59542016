-- Redeem an authorization code once. The record is replaced by a tombstone that keeps the
-- code's TTL, so a second use is reported as a replay (RFC 6749 4.1.2), not as unknown.
-- KEYS[1] oauth:code:{hash}
-- ARGV[1] client_id, ARGV[2] redirect_uri
-- Returns {"redeemed", record}, {"replayed", family or ""}, {"unknown"},
-- {"wrong_client"} or {"wrong_redirect_uri"}.
local stored = redis.call('GET', KEYS[1])
if not stored then return {'unknown'} end
local record = cjson.decode(stored)
if record.consumed then return {'replayed', record.family or ''} end
if record.client_id ~= ARGV[1] then return {'wrong_client'} end
if record.redirect_uri ~= ARGV[2] then return {'wrong_redirect_uri'} end
redis.call('SET', KEYS[1], cjson.encode({consumed = true, client_id = record.client_id}), 'KEEPTTL')
return {'redeemed', stored}
