-- Puts a contact in the sorted sets of its contacts-list shard, or removes it.
-- KEYS: 1 all, 2 email, 3 phone, 4 push (sorted sets of one shard), then
--       the shard's bucket of each segment in the contact's segments set
-- ARGV: 1 contact id, 2 update time in milliseconds ('' to remove the
--       contact from every set), 3 has email, 4 has phone, 5 has push
--       ('1' or '0' each)
-- Returns 0 when the stored entry is newer and was kept, 1 otherwise.
if ARGV[2] == '' then
  for i = 1, #KEYS do
    redis.call('ZREM', KEYS[i], ARGV[1])
  end
  return 1
end

-- Two refreshes of one contact may finish in either order. The one that
-- read an older update time must not undo the newer one.
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if current and tonumber(current) > tonumber(ARGV[2]) then
  return 0
end

redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
for i = 2, 4 do
  if ARGV[i + 1] == '1' then
    redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1])
  else
    redis.call('ZREM', KEYS[i], ARGV[1])
  end
end
for i = 5, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1])
end
return 1
