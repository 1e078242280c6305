-- A job is done with the endpoint (after an attempt, or without one): it leaves its slot and the line. An
-- answer clears the count of timeouts; a timeout adds one, and the one that reaches the threshold pauses
-- the endpoint. Unless paused, the free slots go to the longest waiting. An endpoint deleted meanwhile (no
-- health hash) gets none back: an attempt that ends after the deletion leaves nothing behind.
-- KEYS[1] slots, KEYS[2] line, KEYS[3] health, KEYS[4] the set of paused endpoints. ARGV[1] job id,
-- ARGV[2] answered|timeout|other, ARGV[3] lease ms, ARGV[4] limit, ARGV[5] pause threshold, ARGV[6] the
-- reason to record, ARGV[7] the endpoint's id. Returns {when it paused the endpoint or 0, ids handed a slot...}.
--- @include "../redis/lua/includes/redis-now.lua"
--- @include "includes/hand-out-slots.lua"
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local pausedNow = 0
if redis.call('EXISTS', KEYS[3]) == 0 then return {pausedNow} end
if ARGV[2] == 'answered' then
  redis.call('HSET', KEYS[3], 'timeouts', 0)
elseif ARGV[2] == 'timeout' then
  local timeouts = redis.call('HINCRBY', KEYS[3], 'timeouts', 1)
  if timeouts >= tonumber(ARGV[5]) and redis.call('HSETNX', KEYS[3], 'pausedAt', now) == 1 then
    redis.call('HSET', KEYS[3], 'pausedReason', ARGV[6])
    redis.call('SADD', KEYS[4], ARGV[7])
    pausedNow = now
  end
end
if redis.call('HEXISTS', KEYS[3], 'pausedAt') == 1 then return {pausedNow} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return {pausedNow, unpack(handOut(KEYS[1], KEYS[2], tonumber(ARGV[4]), now + tonumber(ARGV[3])))}
