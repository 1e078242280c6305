-- Resumes a paused endpoint: clears the pause and the count of timeouts, and hands the free slots to the
-- deliveries held longest. KEYS as release-endpoint-slot.lua's; ARGV[1] lease ms, ARGV[2] limit, ARGV[3] the
-- endpoint's id. Returns {0} when it was not paused, else {1, deliveries held, ids handed a slot...}.
--- @include "../redis/lua/includes/redis-now.lua"
--- @include "includes/hand-out-slots.lua"
if redis.call('HEXISTS', KEYS[3], 'pausedAt') == 0 then return {0} end
redis.call('HDEL', KEYS[3], 'pausedAt', 'pausedReason')
redis.call('HSET', KEYS[3], 'timeouts', 0)
redis.call('SREM', KEYS[4], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[2])
return {1, held, unpack(handOut(KEYS[1], KEYS[2], tonumber(ARGV[2]), now + tonumber(ARGV[1])))}
