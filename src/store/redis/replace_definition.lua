-- Replaces the definition stored under a name, possibly under a new name,
-- when the stored one has the expected id.
-- KEYS: 1 definitions hash (name to definition JSON)
-- ARGV: 1 current name, 2 expected id, 3 new name, 4 new definition JSON
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current or cjson.decode(current).id ~= ARGV[2] then
  return 'not_found'
end
if ARGV[3] ~= ARGV[1] and redis.call('HEXISTS', KEYS[1], ARGV[3]) == 1 then
  return 'name_taken'
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
return 'written'
