-- Stores a new custom field definition unless its name is taken or the
-- set is full.
-- KEYS: 1 definitions hash (name to definition JSON)
-- ARGV: 1 name, 2 definition JSON, 3 maximum number of definitions
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return 'name_taken'
end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 'full'
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 'written'
