-- Takes a token from a client address's bucket of provider callbacks (time from Redis's clock, shared by
-- every replica). The bucket expires once it would be full again. Refusals since the last admitted callback
-- are counted, so that only the first of a run is logged.
-- KEYS[1] the address's bucket. ARGV[1] tokens per ms, ARGV[2] the bucket's size.
-- Returns {1} when admitted, else {0, ms until a token, refusals in this run}.
--- @include "../redis/lua/includes/redis-now.lua"
--- @include "../redis/lua/includes/token-bucket.lua"
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = refilledTokens(tonumber(b[1]), tonumber(b[2]), now, rate, burst)
if tokens < 1 then
  local refused = redis.call('HINCRBY', KEYS[1], 'refused', 1)
  return {0, msUntilToken(tokens, rate), refused}
end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now, 'refused', 0)
redis.call('PEXPIRE', KEYS[1], msUntilFull(tokens, rate, burst) + 1000)
return {1}
