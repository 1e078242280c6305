-- Takes one call from a service's token bucket, in one step for every api replica (time from Redis's clock),
-- or says how long until the next token. The bucket expires once it would be full again.
-- KEYS[1] the service's bucket. ARGV[1] tokens per ms; ARGV[2] the bucket's size.
-- Returns {'limited', ms until a token} or {'allowed', tokens left, ms until the bucket is full}.
--- @include "../redis/lua/includes/redis-now.lua"
--- @include "../redis/lua/includes/token-bucket.lua"
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = refilledTokens(tonumber(b[1]), tonumber(b[2]), now, rate, burst)
if tokens < 1 then return {'limited', msUntilToken(tokens, rate)} end
tokens = tokens - 1
local fullInMs = msUntilFull(tokens, rate, burst)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], fullInMs + 1000)
return {'allowed', math.floor(tokens), fullInMs}
