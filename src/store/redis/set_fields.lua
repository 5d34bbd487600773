-- Sets profile fields of a contact, creating it when missing, and may
-- append one activity to the contact's own timeline in the same step.
-- KEYS: 1 contact hash, 2 push subscriptions, 3 segments set, 4 own
--       activity stream, 5 own activity counters, 6 sources set
-- ARGV: 1 time in milliseconds, 2 '1' to fill only empty fields,
--       3 activity as JSON ('' for none), 4 activity type,
--       5 maximum stream length (approximate),
--       6 oldest stream id to keep ('' to keep every age),
--       7 the contact's own source,
--       8 and 9 hash field names of the email and the cellphone,
--       then pairs of hash field name (already 'f:<name>') and value
-- Returns four values. The first three are what the contacts list
-- follows, in the form of the replies of HMGET created updated
-- merged_into email cellphone, HLEN of the push subscriptions and
-- SMEMBERS of the segments set. The fourth is 1 when the call created the
-- contact and 0 otherwise.
--
-- Imports call this once per row, and in their profile each redis.call
-- cost about as much again as its command. So the script reads the hash
-- once, writes it once and skips what a new contact cannot have yet.
local at = ARGV[1]
local only_if_empty = ARGV[2] == '1'
local state = redis.call('HMGET', KEYS[1], 'created', 'updated', 'merged_into', ARGV[8], ARGV[9])
local is_new = not state[1]

local sets, removals = {}, {}
local function put(name, value)
  sets[#sets + 1] = name
  sets[#sets + 1] = value
end
for i = 10, #ARGV, 2 do
  local name, value = ARGV[i], ARGV[i + 1]
  if only_if_empty then
    if value ~= '' then
      local current = redis.call('HGET', KEYS[1], name)
      if not current or current == '' then
        put(name, value)
      end
    end
  elseif value == '' then
    removals[#removals + 1] = name
  else
    put(name, value)
  end
end
if is_new then
  put('created', at)
  state[1] = at
end
if not state[2] or tonumber(state[2]) < tonumber(at) then
  put('updated', at)
  state[2] = at
end

if #sets > 0 then
  redis.call('HSET', KEYS[1], unpack(sets))
end
if #removals > 0 then
  redis.call('HDEL', KEYS[1], unpack(removals))
end

if ARGV[3] ~= '' then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'a', ARGV[3])
  if ARGV[6] ~= '' and not is_new then
    redis.call('XTRIM', KEYS[4], 'MINID', '~', ARGV[6])
  end
  redis.call('HINCRBY', KEYS[5], ARGV[4], 1)
  redis.call('SADD', KEYS[6], ARGV[7])
end

-- The email and cellphone as stored now. With only_if_empty, a value was
-- written only where the field was empty, so the HSET above decides.
for i = 1, #sets, 2 do
  if sets[i] == ARGV[8] then
    state[4] = sets[i + 1]
  elseif sets[i] == ARGV[9] then
    state[5] = sets[i + 1]
  end
end
for _, name in ipairs(removals) do
  if name == ARGV[8] then
    state[4] = false
  elseif name == ARGV[9] then
    state[5] = false
  end
end

-- Adding a push subscription or a segment member sets the creation time,
-- so a contact without one has neither.
if is_new then
  return { state, 0, {}, 1 }
end
return { state, redis.call('HLEN', KEYS[2]), redis.call('SMEMBERS', KEYS[3]), 0 }
