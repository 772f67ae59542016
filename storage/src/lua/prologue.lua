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

-- The change feed. A script that writes configuration gets the revision counter and the
-- change stream as its last two keys; each change increments the revision and appends
-- {family, id, op} to the stream under the id `{revision}-0`, so a watcher resumes from a
-- revision by reading from its id. A proxy or route written carries its new record too
-- (`value`), so a live configuration applies it without reading it back. The stream is
-- capped (about FEED_LENGTH entries): a watcher further behind is told to resync.
local FEED_LENGTH = 10000
local FEED_REVISION, FEED_STREAM = KEYS[#KEYS - 1], KEYS[#KEYS]

local function check_feed()
  expect(FEED_REVISION, 'string')
  expect(FEED_STREAM, 'stream')
end

-- The value of `name` among a stream entry's flat {field, value, ...} list.
local function entry_field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
end

-- Every entry also carries the store's epoch: the one of the entry before it, or a new one
-- (the server's clock) when the stream is empty, as after Redis lost its data. A watcher that
-- meets another epoch than its own knows the store it watched is gone, however many writes
-- followed, instead of taking the new revisions for progress.
local function feed(family, id, op, value)
  local revision = tonumber(redis.call('GET', FEED_REVISION) or '0') or 0
  local epoch
  -- A counter reset behind the stream's back must not make ids go backwards.
  local last = redis.call('XREVRANGE', FEED_STREAM, '+', '-', 'COUNT', 1)[1]
  if last then
    local streamed = tonumber(string.match(last[1], '^(%d+)'))
    if streamed > revision then revision = streamed end
    epoch = entry_field(last[2], 'epoch')
  end
  if not epoch then
    local now = redis.call('TIME')
    epoch = now[1] .. '.' .. now[2]
  end
  revision = revision + 1
  redis.call('SET', FEED_REVISION, revision)
  -- When it was written (ms since the Unix epoch, the server's clock): a follower's lag.
  local clock = redis.call('TIME')
  local at = clock[1] .. string.format('%03d', math.floor(tonumber(clock[2]) / 1000))
  if value then
    redis.call('XADD', FEED_STREAM, 'MAXLEN', '~', FEED_LENGTH, revision .. '-0',
      'family', family, 'id', id, 'op', op, 'epoch', epoch, 'at', at, 'value', value)
  else
    redis.call('XADD', FEED_STREAM, 'MAXLEN', '~', FEED_LENGTH, revision .. '-0',
      'family', family, 'id', id, 'op', op, 'epoch', epoch, 'at', at)
  end
  return revision
end
