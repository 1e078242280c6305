-- Takes an email for delivery in one atomic step, so that it cannot interleave with a cancellation or with
-- another worker:
-- 1. the email's status must allow delivery (else its status is returned);
-- 2. the provider is chosen: the pinned one, else the chain starting after the provider whose transient
--    failure made this a retry, skipping providers whose circuit is open (all open: wait until the first
--    closes). After its cool-down a circuit lets one trial send through; the others wait for its verdict;
-- 3. a token is taken from that provider's bucket (tokens are taken only when a send really starts, so
--    sends never exceed the bucket, however late a waiting email comes back). Without a token, the email
--    takes a place in line: a slot after every email already waiting, and waits until then (coming back
--    without a token, it keeps its place and looks again when the next token is due). Waiting spends no
--    attempt, and the slots keep waiting emails from all waking at once;
-- 4. the status becomes `sending`, the attempt is counted, and the message is returned.
-- An email pinned to a provider this worker does not have waits (no attempt) for a worker that has it, from
-- the first time a worker found it so, for up to the pinned-provider wait; then it is dead, with the reason.
-- Time is Redis's clock, the same for every worker.
--
-- KEYS[1] email; KEYS[2] the set of scheduled emails; KEYS[2i + 1], KEYS[2i + 2]: circuit and bucket of
-- provider i (i = 1..n); then the dead letters, the unfinished emails, and last, the email's message.
-- ARGV[1] n; ARGV[2] the chain's length (the first providers are the chain, in order; the rest are enabled
-- outside it, usable when pinned); ARGV[3] the pinned-provider wait (ms), ARGV[4] how long such an email
-- waits before it looks again (ms), ARGV[5] the record's retention (ms); then per provider i: name, tokens
-- per ms (0: no limit), burst; then the claimable statuses.
-- Returns false (no such email), {'final', status}, {'wait', until, 'circuit' | 'rate', provider?},
-- {'wait', until, 'provider', pinned, 1 when it starts waiting now}, {'unroutable', pinned, reason, attempts,
-- service, requestId, priority} or {'claimed', previous status, attempt, maxAttempts, service, requestId,
-- provider, message, priority}.
--- @include "../redis/lua/includes/redis-now.lua"
--- @include "../redis/lua/includes/token-bucket.lua"
local email = KEYS[1]
local id = string.match(email, '[^:]+$')
local status = redis.call('HGET', email, 'status')
if not status then return false end
local n = tonumber(ARGV[1])
local chainLength = tonumber(ARGV[2])
local P = 5
local claimable = false
for i = P + 1 + 3 * n, #ARGV do
  if status == ARGV[i] then claimable = true end
end
if not claimable then return {'final', status} end

local f = redis.call('HMGET', email, 'pinnedProvider', 'provider', 'reservedProvider', 'reservedUntil')
local pinned, last, reservedProvider, reservedUntil = f[1], f[2], f[3], tonumber(f[4])
local function name(i) return ARGV[P + 1 + 3 * (i - 1)] end

local candidates = {}
if pinned then
  for i = 1, n do if name(i) == pinned then candidates[1] = i end end
else
  local start = 1
  if status == 'retrying' and last then
    for i = 1, chainLength do if name(i) == last then start = i % chainLength + 1 end end
  end
  for k = 0, chainLength - 1 do candidates[#candidates + 1] = (start - 1 + k) % chainLength + 1 end
end
if #candidates == 0 then
  local since = tonumber(redis.call('HGET', email, 'unroutableSince'))
  if not since then
    since = now
    redis.call('HSET', email, 'unroutableSince', now)
  end
  local deadline = since + tonumber(ARGV[3])
  if now < deadline then
    return {'wait', math.min(deadline, now + tonumber(ARGV[4])), 'provider', pinned, since == now and 1 or 0}
  end
  local reason = 'provider ' .. pinned .. ' is not configured on the workers that took this email'
  redis.call('HSET', email, 'status', 'dead', 'lastError', reason, 'deadAt', now)
  redis.call('HDEL', email, 'unroutableSince', 'reservedProvider', 'reservedUntil')
  redis.call('PEXPIRE', email, ARGV[5])
  redis.call('PEXPIRE', KEYS[#KEYS], ARGV[5])
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[#KEYS - 2], now, id)
  redis.call('ZREM', KEYS[#KEYS - 1], id)
  local m = redis.call('HMGET', email, 'attempts', 'service', 'requestId', 'priority')
  return {'unroutable', pinned, reason, m[1], m[2], m[3], m[4]}
end

local chosen, reopensAt = nil, nil
for _, i in ipairs(candidates) do
  local circuit = KEYS[2 * i + 1]
  local c = redis.call('HMGET', circuit, 'openUntil', 'trialUntil')
  local openUntil, trialUntil = tonumber(c[1]), tonumber(c[2])
  local blockedUntil = nil
  if openUntil and openUntil > now then
    blockedUntil = openUntil
  elseif openUntil and trialUntil and trialUntil > now then
    -- Half-open, and one email is already the trial send: look again shortly.
    blockedUntil = math.min(trialUntil, now + 1000)
  end
  if blockedUntil then
    if not reopensAt or blockedUntil < reopensAt then reopensAt = blockedUntil end
  else
    -- Half-open: this email is the one trial send; the circuit closes if it succeeds.
    if openUntil then redis.call('HSET', circuit, 'trialUntil', now + 30000) end
    chosen = i
    break
  end
end
if not chosen then return {'wait', reopensAt, 'circuit'} end

local provider = name(chosen)
if reservedProvider and reservedProvider ~= provider then
  redis.call('HDEL', email, 'reservedProvider', 'reservedUntil')
  reservedProvider = nil
end
local rate = tonumber(ARGV[P + 1 + 3 * (chosen - 1) + 1])
if rate > 0 then
  local burst = tonumber(ARGV[P + 1 + 3 * (chosen - 1) + 2])
  local bucket = KEYS[2 * chosen + 2]
  local b = redis.call('HMGET', bucket, 'tokens', 'updatedAt', 'nextSlot')
  local tokens = refilledTokens(tonumber(b[1]), tonumber(b[2]), now, rate, burst)
  local nextSlot = tonumber(b[3]) or 0
  local waitUntil = nil
  if tokens >= 1 then
    tokens = tokens - 1
    if reservedProvider then redis.call('HDEL', email, 'reservedProvider', 'reservedUntil') end
  elseif reservedProvider == provider then
    -- Already in line: look again when the next token is due.
    waitUntil = now + msUntilToken(tokens, rate)
  else
    -- Join the line: a slot after every email already waiting, so waiting emails do not all wake at once.
    waitUntil = math.max(nextSlot, now + msUntilToken(tokens, rate))
    nextSlot = waitUntil + math.ceil(1 / rate)
    redis.call('HSET', email, 'reservedProvider', provider, 'reservedUntil', waitUntil)
  end
  redis.call('HSET', bucket, 'tokens', tostring(tokens), 'updatedAt', now, 'nextSlot', nextSlot)
  redis.call('PEXPIRE', bucket, math.max(msUntilFull(tokens, rate, burst), nextSlot - now) + 60000)
  if waitUntil then return {'wait', waitUntil, 'rate', provider} end
end

if status == 'scheduled' then redis.call('ZREM', KEYS[2], id) end
local attempt = redis.call('HINCRBY', email, 'attempts', 1)
redis.call('HSET', email, 'status', 'sending', 'provider', provider, 'attemptAt', now)
if pinned then redis.call('HDEL', email, 'unroutableSince') end
local m = redis.call('HMGET', email, 'maxAttempts', 'service', 'requestId', 'priority')
local message = redis.call('GET', KEYS[#KEYS])
return {'claimed', status, attempt, m[1], m[2], m[3], provider, message, m[4]}
