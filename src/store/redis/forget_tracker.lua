-- Deletes a tracker's binding and pending activity when it is bound to
-- the given contact.
-- KEYS[1] tracker hash, KEYS[2] pending stream, KEYS[3] pending counters
-- ARGV[1] contact id
-- Returns 1 when the tracker was deleted, 0 when it is bound elsewhere.
if redis.call('HGET', KEYS[1], 'contact') ~= ARGV[1] then
    return 0
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return 1
