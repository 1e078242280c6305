-- Gives back what the claim's provider step took for an email that its last step then found no longer
-- claimable (cancelled, or claimed by another worker meanwhile): the token, to the provider's bucket (never
-- above its burst), and the circuit's trial, so that another email can be the trial send at once.
-- KEYS[1] the provider's circuit, KEYS[2] its bucket. ARGV[1] tokens per ms (0: no limit), ARGV[2] burst,
-- ARGV[3] '1' when the send was the circuit's trial.
--- @include "../redis/lua/includes/redis-now.lua"
--- @include "../redis/lua/includes/token-bucket.lua"
if ARGV[3] == '1' then redis.call('HDEL', KEYS[1], 'trialUntil') end
local rate = tonumber(ARGV[1])
if rate == 0 then return 0 end
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[2], 'tokens', 'updatedAt')
if not b[1] then return 0 end
local tokens = math.min(burst, refilledTokens(tonumber(b[1]), tonumber(b[2]), now, rate, burst) + 1)
redis.call('HSET', KEYS[2], 'tokens', tostring(tokens), 'updatedAt', now)
return 1
