-- Reads the next entries of one contacts-list shard, newest first.
-- ZRANGE with BYSCORE, REV and LIMIT needs Redis 6.2 or later.
-- KEYS: the shard's sorted sets that every entry must be in (the `all` set
--       when no filter is requested); all share one hash tag
-- ARGV: 1 highest score to read ('+inf' from the start), 2 contact id of
--       the previous page's last entry ('' from the start), 3 number of entries to return
-- Returns a flat array: contact id, score, contact id, score, ...
-- Entries with score ARGV[1] and an id at or above ARGV[2] were on earlier
-- pages: sorted sets order equal scores by member, so ZRANGE ... REV
-- returns them first and they are skipped.

-- The smallest requested set is walked and the others are checked with
-- ZSCORE, so a rare filter costs few reads.
local primary = 1
local smallest = redis.call('ZCARD', KEYS[1])
for i = 2, #KEYS do
  local size = redis.call('ZCARD', KEYS[i])
  if size < smallest then
    primary, smallest = i, size
  end
end

local max, after_id, count = ARGV[1], ARGV[2], tonumber(ARGV[3])
local max_score = tonumber(max)
local chunk = count + 16
local offset = 0
local found = {}
while #found < 2 * count do
  local entries = redis.call('ZRANGE', KEYS[primary], max, '-inf', 'BYSCORE', 'REV', 'LIMIT', offset, chunk, 'WITHSCORES')
  for j = 1, #entries, 2 do
    local id, score = entries[j], entries[j + 1]
    local keep = not (after_id ~= '' and tonumber(score) == max_score and id >= after_id)
    if keep then
      for i = 1, #KEYS do
        if i ~= primary and not redis.call('ZSCORE', KEYS[i], id) then
          keep = false
          break
        end
      end
    end
    if keep then
      found[#found + 1] = id
      found[#found + 1] = score
      if #found >= 2 * count then
        break
      end
    end
  end
  if #entries < 2 * chunk then
    break
  end
  offset = offset + chunk
end
return found
