-- Bring expiry index entries in line with their certificates' own expires_at, for each
-- certificate still stored as it was read (otherwise its writer has set the entry since).
-- KEYS[1] index:cert-expiry, KEYS[2..] the certificate records
-- ARGV, per certificate in KEYS order: name, the record as read, its expiry (Unix s) or ''
-- (no expiry: it leaves the index)
-- Returns how many entries changed.
expect(KEYS[1], 'zset')
local changed = 0
for i = 2, #KEYS do
  local at = (i - 2) * 3 + 1
  if redis.call('GET', KEYS[i]) == ARGV[at + 1] then
    if ARGV[at + 2] == '' then
      changed = changed + redis.call('ZREM', KEYS[1], ARGV[at])
    else
      redis.call('ZADD', KEYS[1], ARGV[at + 2], ARGV[at])
      changed = changed + 1
    end
  end
end
return changed
