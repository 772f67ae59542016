-- Prepended to every script when it is built (`commands::lua_script!`): what they share.

-- The type check every script makes of every key before it writes, so that a call that
-- fails changes nothing and the error names the key.
local function expect(key, kind)
  local found = redis.call('TYPE', key).ok
  if found ~= 'none' and found ~= kind then error({err = 'WRONGTYPE key=' .. key}) end
end

-- The string at `key` (false when absent); a key of another type is the error that names
-- it, as `expect` gives, instead of Redis' own WRONGTYPE that names no key.
local function read_string(key)
  local value = redis.pcall('GET', key)
  if type(value) == 'table' and value.err then error({err = 'WRONGTYPE key=' .. key}) end
  return value
end

-- Whether the record at `key` is still what the caller read before deciding the write:
-- absent when `mode` is "absent" (a create), else exactly `expected`. A write that finds
-- otherwise answers "stale", and the caller reads again.
local function still_as_read(key, mode, expected)
  local current = redis.call('GET', key)
  if mode == 'absent' then return not current end
  return current == expected
end

-- The change feed. A script that writes configuration gets the revision counter, the change
-- stream and the history stream as its last three keys (FEED_KEYS), and the actor, how many
-- changes the history keeps (0: none) and for how long (ms) as its last three arguments
-- (AUDIT_ARGS). Each change increments the revision and appends {family, id, op} to the
-- stream under the id `{revision}-0`, so a watcher resumes from a revision by reading from
-- its id. A proxy or route written carries its new record too (`value`), so a live
-- configuration applies it without reading it back. The stream is capped (about FEED_LENGTH
-- entries): a watcher further behind is told to resync.
local FEED_LENGTH = 10000
local FEED_KEYS, AUDIT_ARGS = 3, 3
local FEED_REVISION, FEED_STREAM, HISTORY = KEYS[#KEYS - 2], KEYS[#KEYS - 1], KEYS[#KEYS]
local ACTOR = ARGV[#ARGV - 2]
local HISTORY_KEEP = tonumber(ARGV[#ARGV - 1]) or 0
local HISTORY_KEEP_MS = tonumber(ARGV[#ARGV]) or 0

local function check_feed()
  expect(FEED_REVISION, 'string')
  expect(FEED_STREAM, 'stream')
  expect(HISTORY, 'stream')
end

-- The value of `name` among a stream entry's flat {field, value, ...} list.
local function entry_field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
end

-- The revision of a stream's last entry, or 0.
local function last_revision(stream)
  local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)[1]
  if last then return tonumber(string.match(last[1], '^(%d+)')), last end
  return 0, nil
end

-- Writes `value` at `key` (for `ttl` seconds when given) and returns the record it replaced
-- when the history wants it (`SET … GET`: no second call).
local function replace(key, value, ttl)
  local remembering = HISTORY_KEEP > 0
  local old
  if ttl and remembering then
    old = redis.call('SET', key, value, 'EX', ttl, 'GET')
  elseif ttl then
    redis.call('SET', key, value, 'EX', ttl)
  elseif remembering then
    old = redis.call('SET', key, value, 'GET')
  else
    redis.call('SET', key, value)
  end
  return old or nil
end

-- The record at `key` before a delete, for the history (nothing when it is off).
local function before_delete(key)
  if HISTORY_KEEP <= 0 then return nil end
  return redis.call('GET', key) or nil
end

-- A certificate as the history keeps it: without its PEMs.
local function as_recorded(family, record)
  if family ~= 'certificate' or not record then return record end
  local ok, decoded = pcall(cjson.decode, record)
  if not ok or type(decoded) ~= 'table' then return nil end
  decoded.fullchain_pem, decoded.private_key_pem = nil, nil
  return cjson.encode(decoded)
end

-- When a history entry was written (ms). One that does not say (another writer's) counts
-- as new: it is never trimmed by age for what it lacks, only by count.
local function written_at(entry)
  return tonumber(entry_field(entry[2], 'at')) or math.huge
end

-- How often (in revisions) a write looks at the history's oldest entry for its age: reading
-- an entry costs a script more than writing one, so not every write does.
local AGE_CHECK_EVERY = 16

-- Drops the history's entries older than `cutoff` (ms), up to 100 of them.
local function trim_by_age(cutoff)
  local oldest = redis.call('XRANGE', HISTORY, '-', '+', 'COUNT', 1)[1]
  if not oldest or written_at(oldest) >= cutoff then return end
  local batch = redis.call('XRANGE', HISTORY, '-', '+', 'COUNT', 100)
  local keep_from
  for _, entry in ipairs(batch) do
    if written_at(entry) >= cutoff then keep_from = entry[1]; break end
  end
  if not keep_from then
    keep_from = (tonumber(string.match(batch[#batch][1], '^(%d+)')) + 1) .. '-0'
  end
  redis.call('XTRIM', HISTORY, 'MINID', keep_from)
end

-- Appends a change to the history at `revision`: who (`actor`; '' for the old layer),
-- when, and the record before it. What a change left is the next change's `before`, or the
-- record now: storing it twice would double what every write costs. Trimmed by count with
-- each entry, and by age every AGE_CHECK_EVERY revisions. Returns the revision it took: a
-- later one only when the history is ahead of the counter and the feed (they were reset
-- behind its back), so that its ids never go backwards either.
local function remember(revision, epoch, at, family, id, op, before, actor)
  local recorded = as_recorded(family, before)
  local added
  if recorded then
    added = redis.pcall('XADD', HISTORY, 'MAXLEN', '~', HISTORY_KEEP, revision .. '-0',
      'family', family, 'id', id, 'op', op, 'actor', actor, 'epoch', epoch, 'at', at,
      'before', recorded)
  else
    added = redis.pcall('XADD', HISTORY, 'MAXLEN', '~', HISTORY_KEEP, revision .. '-0',
      'family', family, 'id', id, 'op', op, 'actor', actor, 'epoch', epoch, 'at', at)
  end
  if type(added) == 'table' and added.err then
    revision = last_revision(HISTORY) + 1
    local fields = {'family', family, 'id', id, 'op', op, 'actor', actor, 'epoch', epoch,
      'at', at}
    if recorded then fields[#fields + 1] = 'before'; fields[#fields + 1] = recorded end
    redis.call('XADD', HISTORY, 'MAXLEN', '~', HISTORY_KEEP, revision .. '-0', unpack(fields))
  end
  if revision % AGE_CHECK_EVERY == 0 then trim_by_age(tonumber(at) - HISTORY_KEEP_MS) end
  return revision
end

-- Every entry also carries the store's epoch: the one of the entry before it, or a new one
-- (the server's clock) when the stream is empty, as after Redis lost its data. A watcher that
-- meets another epoch than its own knows the store it watched is gone, however many writes
-- followed, instead of taking the new revisions for progress. `before` is the record the
-- change replaced, for the history; `actor` overrides the caller's (the old layer's is '').
local function feed(family, id, op, value, before, actor)
  local revision = tonumber(redis.call('GET', FEED_REVISION) or '0') or 0
  local epoch
  -- A counter reset behind the streams' backs must not make ids go backwards.
  local streamed, last = last_revision(FEED_STREAM)
  if streamed > revision then revision = streamed end
  if last then epoch = entry_field(last[2], 'epoch') end
  if not epoch then
    local now = redis.call('TIME')
    epoch = now[1] .. '.' .. now[2]
  end
  revision = revision + 1
  -- When it was written (ms since the Unix epoch, the server's clock): a follower's lag.
  local clock = redis.call('TIME')
  local at = clock[1] .. string.format('%03d', math.floor(tonumber(clock[2]) / 1000))
  if HISTORY_KEEP > 0 then
    revision = remember(revision, epoch, at, family, id, op, before, actor or ACTOR)
  end
  redis.call('SET', FEED_REVISION, revision)
  if value and family ~= 'certificate' then
    redis.call('XADD', FEED_STREAM, 'MAXLEN', '~', FEED_LENGTH, revision .. '-0',
      'family', family, 'id', id, 'op', op, 'epoch', epoch, 'at', at, 'value', value)
  else
    redis.call('XADD', FEED_STREAM, 'MAXLEN', '~', FEED_LENGTH, revision .. '-0',
      'family', family, 'id', id, 'op', op, 'epoch', epoch, 'at', at)
  end
  return revision
end
