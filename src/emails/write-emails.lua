-- Writes new emails: for each, its record (HSET, with an expiry), its message (SET, same expiry), its entries
-- in its service's index and the index of all, the scheduled set when it has a sendAt, and the unfinished
-- emails, scored by when it is due (the reconciler looks at it if it has not gone out a while later). One
-- call carries a whole chunk of emails, which costs a fraction of the ioredis work of five commands per email.
-- The message has a key of its own because one long value turns a whole hash into a hash table: apart, the
-- record stays a compact listpack (docs/BENCHMARKS.md, "Footprint").
-- Index entries older than the retention (their records have expired) are trimmed on the way, and each index
-- expires a retention after its last write: the indexes of a service that stopped sending, or of a partition
-- layout no longer used (docs/SCALING.md, "Changing REDIS_PARTITIONS"), go away with their last records.
-- KEYS[1] index of all, KEYS[2] scheduled set, then per email i: KEYS[3i] record, KEYS[3i + 1] message,
-- KEYS[3i + 2] service index; last, the unfinished emails.
-- ARGV[1] the retention cut-off (ms), ARGV[2] the retention (ms); then per email: createdAt, ttlMs, sendAt ('' for none), id, message,
-- field count n, then n field/value pairs.
local cutoff = '(' .. ARGV[1]
local trimmed = {}
local a = 3
local count = (#KEYS - 3) / 3
for i = 1, count do
  local key, messageKey, index = KEYS[3 * i], KEYS[3 * i + 1], KEYS[3 * i + 2]
  local createdAt, ttlMs, sendAt, id = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local n = tonumber(ARGV[a + 5])
  redis.call('HSET', key, unpack(ARGV, a + 6, a + 5 + 2 * n))
  redis.call('PEXPIRE', key, ttlMs)
  redis.call('SET', messageKey, ARGV[a + 4], 'PX', ttlMs)
  redis.call('ZADD', index, createdAt, id)
  redis.call('ZADD', KEYS[1], createdAt, id)
  if sendAt ~= '' then redis.call('ZADD', KEYS[2], sendAt, id) end
  redis.call('ZADD', KEYS[#KEYS], sendAt ~= '' and sendAt or createdAt, id)
  if not trimmed[index] then
    redis.call('ZREMRANGEBYSCORE', index, '-inf', cutoff)
    redis.call('PEXPIRE', index, ARGV[2])
    trimmed[index] = true
  end
  a = a + 6 + 2 * n
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return count
