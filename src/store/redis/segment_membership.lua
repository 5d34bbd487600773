-- Applies membership changes of one contact in order, recording each
-- change as an activity in the contact's own stream in the same step, and
-- returns the contact state that its list entries follow.
-- KEYS: 1 contact hash, 2 segments set, 3 sources set, 4 own stream,
--       5 own counters, 6 push subscriptions hash
-- ARGV: 1 time in milliseconds, 2 the contact's own source ('c:<id>'),
--       3 maximum stream length (approximate), 4 oldest stream id kept
--       ('' for no age limit), then four per change: 'add' or 'remove',
--       segment id, activity JSON, activity type
-- Returns { changed, state, push count, segments }: changed holds 1 for
-- each change that changed the membership and 0 otherwise; state is
-- HMGET created, updated, merged_into, f:email, f:cellphone; push count
-- is the number of push subscriptions; segments the segments set after
-- the changes. Only a contact that exists and is not merged is added.
local at = tonumber(ARGV[1])
local changed = {}
local appended = false
for i = 5, #ARGV, 4 do
  local action, segment, activity, kind = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local result = 0
  if action == 'add' then
    local live = redis.call('HEXISTS', KEYS[1], 'created') == 1 and redis.call('HEXISTS', KEYS[1], 'merged_into') == 0
    if live then
      result = redis.call('SADD', KEYS[2], segment)
    end
  else
    result = redis.call('SREM', KEYS[2], segment)
  end
  if result == 1 then
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 'a', activity)
    redis.call('HINCRBY', KEYS[5], kind, 1)
    appended = true
  end
  changed[#changed + 1] = result
end

if appended then
  redis.call('SADD', KEYS[3], ARGV[2])
  if ARGV[4] ~= '' then
    redis.call('XTRIM', KEYS[4], 'MINID', '~', ARGV[4])
  end
  if redis.call('EXISTS', KEYS[1]) == 1 then
    local updated = tonumber(redis.call('HGET', KEYS[1], 'updated'))
    if not updated or updated < at then
      redis.call('HSET', KEYS[1], 'updated', ARGV[1])
    end
  end
end

local state = redis.call('HMGET', KEYS[1], 'created', 'updated', 'merged_into', 'f:email', 'f:cellphone')
return { changed, state, redis.call('HLEN', KEYS[6]), redis.call('SMEMBERS', KEYS[2]) }
