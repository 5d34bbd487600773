-- Adds a contact to a segment or removes it, recording the change as an
-- activity in the contact's own stream in the same step.
-- KEYS: 1 contact hash, 2 segments set, 3 sources set, 4 own stream,
--       5 own counters
-- ARGV: 1 'add' or 'remove', 2 segment id, 3 time in milliseconds,
--       4 the contact's own source ('c:<id>'), 5 maximum stream length
--       (approximate), 6 oldest stream id kept ('' for no age limit),
--       7 activity JSON, 8 activity type
-- Returns 1 when the membership changed, 0 otherwise. Only a contact that
-- exists and is not merged is added.
local changed
if ARGV[1] == 'add' then
  if redis.call('HEXISTS', KEYS[1], 'created') == 0 or redis.call('HEXISTS', KEYS[1], 'merged_into') == 1 then
    return 0
  end
  changed = redis.call('SADD', KEYS[2], ARGV[2])
else
  changed = redis.call('SREM', KEYS[2], ARGV[2])
end
if changed == 0 then
  return 0
end

redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'a', ARGV[7])
redis.call('HINCRBY', KEYS[5], ARGV[8], 1)
redis.call('SADD', KEYS[3], ARGV[4])
if ARGV[6] ~= '' then
  redis.call('XTRIM', KEYS[4], 'MINID', '~', ARGV[6])
end

if redis.call('EXISTS', KEYS[1]) == 1 then
  local updated = tonumber(redis.call('HGET', KEYS[1], 'updated'))
  if not updated or updated < tonumber(ARGV[3]) then
    redis.call('HSET', KEYS[1], 'updated', ARGV[3])
  end
end
return 1
