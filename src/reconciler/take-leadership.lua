-- Takes or keeps the reconciler's leadership: the holder renews its lease; anyone else gets it only once it
-- has expired (its holder died or stopped). KEYS[1] the leader key. ARGV[1] token, ARGV[2] lease (ms).
-- Returns 1 when the token leads now.
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
