-- Up to ARGV[1] members (with their scores) of the sorted set KEYS[1], highest score first, strictly after
-- the position of score ARGV[2] and member ARGV[3] (from the top without them). Members of one score come in
-- descending byte order, as Redis keeps them, and any number may share a score: the position is found by
-- binary search among the members of its score, so it costs O(log² n) whether or not its member is still
-- there, and it is read atomically with the page, so members added meanwhile cannot shift it.
-- Members are compared byte by byte here: Lua compares strings with the server's collation (Redis sets
-- LC_COLLATE from its environment), which need not be the byte order Redis sorts members in.
local function sortsBelow(a, b)
  if a == b then return false end
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local count = tonumber(ARGV[1])
local start = 0
if ARGV[2] then
  local score, member = ARGV[2], ARGV[3]
  start = redis.call('ZCOUNT', KEYS[1], '(' .. score, '+inf')
  local stop = start + redis.call('ZCOUNT', KEYS[1], score, score)
  while start < stop do
    local middle = math.floor((start + stop) / 2)
    if sortsBelow(redis.call('ZRANGE', KEYS[1], middle, middle, 'REV')[1], member) then
      stop = middle
    else
      start = middle + 1
    end
  end
end
return redis.call('ZRANGE', KEYS[1], start, start + count - 1, 'REV', 'WITHSCORES')
