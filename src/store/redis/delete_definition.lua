-- Removes a definition and returns its JSON, or false when missing.
-- KEYS: 1 definitions hash (name to definition JSON)
-- ARGV: 1 name
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return current
