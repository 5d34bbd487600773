-- Records once that a contact was merged into this one, with its activity.
-- KEYS: 1 merged-contacts set, 2 the contact's own stream, 3 its counters
-- ARGV: 1 merged contact, 2 activity as JSON, 3 activity type,
--       4 maximum stream length (approximate)
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'a', ARGV[2])
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
return 1
