-- Compares and updates status entries of a contact, appending activities
-- to its own stream in the same step.
-- KEYS: 1 contact hash, 2 sources set, 3 own stream, 4 own counters
-- ARGV: 1 time in milliseconds, 2 the contact's own source ('c:<id>'),
--       3 maximum stream length (approximate), 4 oldest stream id kept
--       ('' for no age limit), 5 number E of expected entries,
--       6 number N of changes, 7 number A of activities, then
--       E triples: hash field name, '1' present or '0' absent, value;
--       N triples: hash field name, '1' set or '0' remove, value;
--       A pairs: activity JSON, activity type.
-- Returns 1 when applied, 0 when the contact is missing or merged or an
-- expected entry differs.
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'merged_into') == 1 then
  return 0
end

local expected, changes, activities = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local i = 8
for _ = 1, expected do
  local name, present, value = ARGV[i], ARGV[i + 1] == '1', ARGV[i + 2]
  local current = redis.call('HGET', KEYS[1], name)
  if present then
    if current ~= value then
      return 0
    end
  elseif current then
    return 0
  end
  i = i + 3
end

for _ = 1, changes do
  local name, present, value = ARGV[i], ARGV[i + 1] == '1', ARGV[i + 2]
  if present then
    redis.call('HSET', KEYS[1], name, value)
  else
    redis.call('HDEL', KEYS[1], name)
  end
  i = i + 3
end

for _ = 1, activities do
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'a', ARGV[i])
  redis.call('HINCRBY', KEYS[4], ARGV[i + 1], 1)
  i = i + 2
end
if activities > 0 then
  redis.call('SADD', KEYS[2], ARGV[2])
  if ARGV[4] ~= '' then
    redis.call('XTRIM', KEYS[3], 'MINID', '~', ARGV[4])
  end
end

local updated = tonumber(redis.call('HGET', KEYS[1], 'updated'))
if not updated or updated < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'updated', ARGV[1])
end
return 1
