-- Creates a contact when missing, raises its update time and lists a source.
-- KEYS: 1 contact hash, 2 sources set, 3 trackers set
-- ARGV: 1 time in milliseconds, 2 source, 3 tracker of the source ('' for none)
redis.call('HSETNX', KEYS[1], 'created', ARGV[1])
local updated = tonumber(redis.call('HGET', KEYS[1], 'updated'))
if not updated or updated < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'updated', ARGV[1])
end

redis.call('SADD', KEYS[2], ARGV[2])
if ARGV[3] ~= '' then
  redis.call('SADD', KEYS[3], ARGV[3])
end
return 1
