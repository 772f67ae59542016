-- Every record of a family in one round trip: those its index names and, while the
-- migration is mixed, those a keyspace scan found (old-layer writes are in no index).
-- KEYS[1] the index: a set, or (with ARGV[3]) a sorted set read by score, soonest first
-- KEYS[2] meta:migration, KEYS[3] meta:revision
-- KEYS[4] optional: a sorted set whose score for each member is returned (the expiry index)
-- ARGV[1] the record key prefix (record key = prefix .. member)
-- ARGV[2] 'indexed': the index alone, whatever the phase (families only this crate writes)
--         'ask': the index alone once the migration is finished, else the reply {'scan'}
--         'scanned': the index and the members in ARGV[4..]
-- ARGV[3] for a sorted-set index, the highest score to read; else ''
-- Returns {'scan'} or {'ok', revision, member, kind, record, score, ...}: the store revision
-- the records are at; kind 'json', or 'wrongtype' (the key holds another Redis type; record
-- is then ''); score '' when there is none.
-- Members whose record is gone are skipped.
if ARGV[3] == '' then expect(KEYS[1], 'set') else expect(KEYS[1], 'zset') end
expect(KEYS[2], 'string')
expect(KEYS[3], 'string')
if KEYS[4] then expect(KEYS[4], 'zset') end
local mode = ARGV[2]
if mode == 'ask' and redis.call('GET', KEYS[2]) ~= 'finished' then
  return {'scan'}
end
local members
if ARGV[3] ~= '' then
  members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
else
  members = redis.call('SMEMBERS', KEYS[1])
end
if mode == 'scanned' then
  local seen = {}
  for _, member in ipairs(members) do seen[member] = true end
  for i = 4, #ARGV do
    if not seen[ARGV[i]] then
      seen[ARGV[i]] = true
      members[#members + 1] = ARGV[i]
    end
  end
end
local out = {'ok', redis.call('GET', KEYS[3]) or '0'}
for _, member in ipairs(members) do
  local record = redis.pcall('GET', ARGV[1] .. member)
  local kind = 'json'
  if type(record) == 'table' then
    kind, record = 'wrongtype', ''
  end
  if record then
    local score = ''
    if KEYS[4] then score = redis.call('ZSCORE', KEYS[4], member) or '' end
    out[#out + 1] = member
    out[#out + 1] = kind
    out[#out + 1] = record
    out[#out + 1] = score
  end
end
return out
