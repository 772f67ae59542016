-- Approve or deny a pending device authorization.
-- KEYS[1] device_code:{hash}
-- ARGV[1] "approved" or "denied", ARGV[2] the approving user ("" when denying)
-- Returns "ok", "unknown" or the status it already has.
expect(KEYS[1], 'hash')
if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown' end
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'corrupt' end
if status ~= 'pending' then return status end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'user', ARGV[2])
return 'ok'
