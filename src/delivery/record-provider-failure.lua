-- Records a transient failure in a provider's circuit: after `threshold` in a row it opens for `cooldownMs`;
-- a failure of the trial send after a cool-down opens it again at once. Returns the time it is open until (0:
-- closed). KEYS[1] circuit; ARGV[1] threshold, ARGV[2] cool-down ms.
--- @include "../redis/lua/includes/redis-now.lua"
local openUntil = tonumber(redis.call('HGET', KEYS[1], 'openUntil'))
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if failures >= tonumber(ARGV[1]) or (openUntil and openUntil <= now) then
  openUntil = now + tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 'openUntil', openUntil, 'failures', 0, 'openedAt', now)
  redis.call('HDEL', KEYS[1], 'trialUntil')
  redis.call('HINCRBY', KEYS[1], 'opened', 1)
  return openUntil
end
return 0
