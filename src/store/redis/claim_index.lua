-- Claims an index value for a contact unless another contact owns it.
-- KEYS: 1 index key
-- ARGV: 1 contact
-- Returns the owner after the call.
local owner = redis.call('GET', KEYS[1])
if owner then
  return owner
end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
