-- Each provider's circuit and token bucket as the figures show them, the tokens refilled to now.
-- KEYS[2i - 1], KEYS[2i]: circuit and bucket of provider i. ARGV[2i - 1] its tokens per ms (0: no limit),
-- ARGV[2i] its burst. Returns {now, then per provider: failures in a row, open until, times opened, tokens
-- (a string, since they may be fractional; '' without a limit)}.
--- @include "../redis/lua/includes/redis-now.lua"
--- @include "../redis/lua/includes/token-bucket.lua"
local states = {now}
for i = 1, #KEYS / 2 do
  local c = redis.call('HMGET', KEYS[2 * i - 1], 'failures', 'openUntil', 'opened')
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local tokens = ''
  if rate > 0 then
    local b = redis.call('HMGET', KEYS[2 * i], 'tokens', 'updatedAt')
    tokens = tostring(refilledTokens(tonumber(b[1]), tonumber(b[2]), now, rate, burst))
  end
  states[#states + 1] = c[1]
  states[#states + 1] = c[2]
  states[#states + 1] = c[3]
  states[#states + 1] = tokens
end
return states
