-- Adds or removes a push subscription and raises the contact's update time
-- when something changed.
-- KEYS: 1 contact hash, 2 push subscriptions hash
-- ARGV: 1 'add' or 'remove', 2 endpoint id, 3 time in milliseconds
-- Returns 1 when the subscription was added or removed, 0 otherwise.
local changed
if ARGV[1] == 'add' then
  changed = redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3])
else
  changed = redis.call('HDEL', KEYS[2], ARGV[2])
end
if changed == 0 then
  return 0
end

redis.call('HSETNX', KEYS[1], 'created', ARGV[3])
local updated = tonumber(redis.call('HGET', KEYS[1], 'updated'))
if not updated or updated < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'updated', ARGV[3])
end
return 1
