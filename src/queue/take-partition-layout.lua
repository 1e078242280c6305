-- Records a new number of partitions, only if the one recorded is still the one the caller found drained
-- (another process may have changed it meanwhile), keeping the previous number and when it changed.
-- KEYS[1] the layout (a hash: current, previous, changedAt). ARGV[1] the number found (an absent record counts
-- as 1, the layout from before partitions), ARGV[2] the new number, ARGV[3] now (ms).
-- Returns 1 when it recorded the new number, else 0.
local current = redis.call('HGET', KEYS[1], 'current') or '1'
if current ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 and current == ARGV[2] then return 1 end
redis.call('HSET', KEYS[1], 'current', ARGV[2])
if current ~= ARGV[2] then redis.call('HSET', KEYS[1], 'previous', current, 'changedAt', ARGV[3]) end
return 1
