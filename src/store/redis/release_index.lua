-- Removes an index value when the given contact owns it.
-- KEYS: 1 index key
-- ARGV: 1 contact
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1
