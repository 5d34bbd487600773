-- Removes a segment definition and its name, and returns its JSON, or
-- false when missing.
-- KEYS: 1 definitions hash (id to JSON), 2 names hash (name to id)
-- ARGV: 1 id
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then
  return false
end
local name = cjson.decode(current).name
if redis.call('HGET', KEYS[2], name) == ARGV[1] then
  redis.call('HDEL', KEYS[2], name)
end
redis.call('HDEL', KEYS[1], ARGV[1])
return current
