-- Stores a new segment unless its name is taken or the set is full.
-- KEYS: 1 definitions hash (id to JSON), 2 names hash (name to id)
-- ARGV: 1 id, 2 name, 3 definition JSON, 4 maximum number of segments
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then
  return 'name_taken'
end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then
  return 'full'
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return 'written'
