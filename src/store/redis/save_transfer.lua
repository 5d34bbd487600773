-- Stores a transfer job and keeps only the newest ones.
-- KEYS: 1 jobs hash, 2 order sorted set (every score 0, so ordered by id)
-- ARGV: 1 job id, 2 job JSON, 3 number of jobs kept
-- The ids are UUID v7, so the smallest id is the oldest job.
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[3])
if excess > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], excess)
  for i = 1, #oldest, 2 do
    redis.call('HDEL', KEYS[1], oldest[i])
  end
end
return 1
