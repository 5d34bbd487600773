-- Reads the next entries of one contacts-list shard, newest first.
-- KEYS: the shard's sorted sets that every entry must be in (the `all` set
--       when no filter is requested); all share one hash tag
-- ARGV: 1 highest score to read ('+inf' from the start), 2 contact id of
--       the previous page's last entry ('' from the start), 3 number of
--       entries to return
-- Returns a flat array: contact id, score, contact id, score, ...
-- The list order is (score, id) descending, which is the order of ZRANGE
-- ... REV, as sorted sets order equal scores by member. The first entry
-- after the cursor is found by a binary search over ranks, so a page costs
-- O(log^2 n) to find its start also inside a long run of equal scores.

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

local from_start = ARGV[1] == '+inf'
local max_score = from_start and math.huge or tonumber(ARGV[1])
local after_id, count = ARGV[2], tonumber(ARGV[3])

-- True when the entry at `rank` (in descending order) comes after the
-- cursor. False for every rank before the first such entry, true from it on.
local function after_cursor(rank)
  local entry = redis.call('ZRANGE', KEYS[primary], rank, rank, 'REV', 'WITHSCORES')
  local id, score = entry[1], tonumber(entry[2])
  if score ~= max_score then
    return score < max_score
  end
  return after_id == '' or id < after_id
end

local low, high = 0, smallest
if not from_start then
  while low < high do
    local middle = math.floor((low + high) / 2)
    if after_cursor(middle) then
      high = middle
    else
      low = middle + 1
    end
  end
end

local chunk = count + 16
local rank = low
local found = {}
while #found < 2 * count and rank < smallest do
  local entries = redis.call('ZRANGE', KEYS[primary], rank, rank + chunk - 1, 'REV', 'WITHSCORES')
  for j = 1, #entries, 2 do
    local id, score = entries[j], entries[j + 1]
    local keep = true
    for i = 1, #KEYS do
      if i ~= primary and not redis.call('ZSCORE', KEYS[i], id) then
        keep = false
        break
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
  rank = rank + chunk
end
return found
