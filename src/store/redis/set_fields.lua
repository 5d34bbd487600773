-- Sets profile fields of a contact, creating it when missing.
-- KEYS: 1 contact hash
-- ARGV: 1 time in milliseconds, 2 '1' to fill only empty fields,
--       then pairs of hash field name (already 'f:<name>') and value
local only_if_empty = ARGV[2] == '1'
for i = 3, #ARGV, 2 do
  local name, value = ARGV[i], ARGV[i + 1]
  if only_if_empty then
    if value ~= '' then
      local current = redis.call('HGET', KEYS[1], name)
      if not current or current == '' then
        redis.call('HSET', KEYS[1], name, value)
      end
    end
  elseif value == '' then
    redis.call('HDEL', KEYS[1], name)
  else
    redis.call('HSET', KEYS[1], name, value)
  end
end

redis.call('HSETNX', KEYS[1], 'created', ARGV[1])
local updated = tonumber(redis.call('HGET', KEYS[1], 'updated'))
if not updated or updated < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'updated', ARGV[1])
end
return 1
