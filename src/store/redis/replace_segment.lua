-- Replaces a stored segment, possibly under a new name.
-- KEYS: 1 definitions hash (id to JSON), 2 names hash (name to id)
-- ARGV: 1 id, 2 new name, 3 new definition JSON
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then
  return 'not_found'
end
local owner = redis.call('HGET', KEYS[2], ARGV[2])
if owner and owner ~= ARGV[1] then
  return 'name_taken'
end
local old_name = cjson.decode(current).name
if old_name ~= ARGV[2] and redis.call('HGET', KEYS[2], old_name) == ARGV[1] then
  redis.call('HDEL', KEYS[2], old_name)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return 'written'
