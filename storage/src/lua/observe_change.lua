-- Record in the history (and the feed) a change some writer made without either: the old
-- layer, whose writes a live configuration's reconcile pass finds. Recorded once however
-- many processes notice it: a change of the record the feed already holds after the
-- noticing process's revision, and that left the value there now, is known.
-- KEYS[1] the record, then the change feed's keys
-- ARGV[1] the family, ARGV[2] the id, ARGV[3] the record as the noticing process had it, or
-- "" for none, ARGV[4] the revision it had it at
-- Returns "recorded", or "known".
expect(KEYS[1], 'string')
check_feed()
local current = read_string(KEYS[1])
-- The feed's latest changes after that revision (a bounded look; past it, record).
local since = '(' .. ARGV[4] .. '-0'
for _, entry in ipairs(redis.call('XREVRANGE', FEED_STREAM, '+', since, 'COUNT', 1000)) do
  local fields = entry[2]
  if entry_field(fields, 'family') == ARGV[1] and entry_field(fields, 'id') == ARGV[2] then
    local left = entry_field(fields, 'op') ~= 'delete' and entry_field(fields, 'value') or false
    if left == current then return 'known' end
    break
  end
end
if not current and ARGV[3] == '' then return 'known' end
local before = ARGV[3] ~= '' and ARGV[3] or nil
feed(ARGV[1], ARGV[2], current and 'put' or 'delete', current or nil, before, '')
return 'recorded'
