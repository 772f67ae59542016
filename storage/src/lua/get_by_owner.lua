-- Follow an owner key to its record in one round trip (certificate by domain).
-- KEYS[1] the owner key (cert:domain:{d})
-- ARGV[1] the record key prefix
-- Returns {owner, record} or an empty array when either is missing.
local owner = read_string(KEYS[1])
if not owner then return {} end
local record = read_string(ARGV[1] .. owner)
if not record then return {} end
return {owner, record}
