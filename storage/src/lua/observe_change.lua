-- Record in the history (and the feed) a change some writer made without either: the old
-- layer, whose writes a live configuration's reconcile pass finds. Recorded once however
-- many processes notice it: the heads hash says what the last entry of the record left.
-- KEYS[1] the record, then the change feed's keys
-- ARGV[1] the family, ARGV[2] the id, ARGV[3] the record as the noticing process had it, or
-- "" for none
-- Returns "recorded", or "known" (its value now is the one the history last left).
expect(KEYS[1], 'string')
check_feed()
local current = read_string(KEYS[1])
local head = redis.call('HGET', HISTORY_HEADS, ARGV[1] .. ':' .. ARGV[2])
local digest = current and redis.sha1hex(current) or '-'
if head == digest or (not head and not current and ARGV[3] == '') then return 'known' end
local before = ARGV[3] ~= '' and ARGV[3] or nil
feed(ARGV[1], ARGV[2], current and 'put' or 'delete', current or nil, before, '')
return 'recorded'
