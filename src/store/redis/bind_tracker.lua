-- Binds a tracker to a contact if it is bound to the expected one.
-- KEYS: 1 tracker hash, 2 pending stream, 3 pending counters,
--       4 stream of the new source, 5 counters of the new source
-- ARGV: 1 contact, 2 expected contact ('' when not bound yet),
--       3 current time in milliseconds
-- Returns 0 when refused, 1 when already bound to the contact (nothing
-- changed), 2 when the binding changed.
local current = redis.call('HGET', KEYS[1], 'contact')
if current == ARGV[1] then
  return 1
end
if (current or '') ~= ARGV[2] then
  return 0
end

redis.call('HSET', KEYS[1], 'contact', ARGV[1])
redis.call('HSETNX', KEYS[1], 'created', ARGV[3])

-- Only the first binding adopts the pending activity. RENAME keeps the
-- stream ids, so cursors stay valid, and PERSIST stops the expiry.
if not current then
  if redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('RENAME', KEYS[2], KEYS[4])
    redis.call('PERSIST', KEYS[4])
  end
  if redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('RENAME', KEYS[3], KEYS[5])
    redis.call('PERSIST', KEYS[5])
  end
end
return 2
