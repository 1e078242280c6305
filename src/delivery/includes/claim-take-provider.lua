-- The claim's second step, in the providers' shared state: the first candidate whose circuit lets a send
-- through is chosen (all open: wait until the first closes). After its cool-down a circuit lets one trial send
-- through; the others wait for its verdict. Then a token is taken from that provider's bucket (tokens are
-- taken only when a send really starts, so sends never exceed the bucket, however late a waiting email comes
-- back). Without a token, the email takes a place in line: a slot after every email already waiting, and
-- waits until then (coming back without a token, it keeps its place and looks again when the next token is
-- due). Waiting spends no attempt, and the slots keep waiting emails from all waking at once.
-- `circuitKey(i)` and `bucketKey(i)` name provider i's keys; `reserved` is the provider whose line the email
-- is in (nil: none).
-- Returns {chosen = i, trial = true when this send is the circuit's trial} when a token was taken (or the
-- provider has no limit), else {reply = <the claim's wait reply>, chosen = i or nil, joined = the time of the
-- slot the email took in line, or nil}.
local function takeProvider(circuitKey, bucketKey, candidates, reserved)
  local chosen, reopensAt, trial = nil, nil, false
  for _, i in ipairs(candidates) do
    local circuit = circuitKey(i)
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
      if openUntil then
        redis.call('HSET', circuit, 'trialUntil', now + 30000)
        trial = true
      end
      chosen = i
      break
    end
  end
  if not chosen then return {reply = {'wait', reopensAt, 'circuit'}} end

  local rate = providerRate(chosen)
  if rate == 0 then return {chosen = chosen, trial = trial} end
  local provider = providerName(chosen)
  local burst = providerBurst(chosen)
  local bucket = bucketKey(chosen)
  local b = redis.call('HMGET', bucket, 'tokens', 'updatedAt', 'nextSlot')
  local tokens = refilledTokens(tonumber(b[1]), tonumber(b[2]), now, rate, burst)
  local nextSlot = tonumber(b[3]) or 0
  local waitUntil, joined = nil, nil
  if tokens >= 1 then
    tokens = tokens - 1
  elseif reserved == provider then
    -- Already in line: look again when the next token is due.
    waitUntil = now + msUntilToken(tokens, rate)
  else
    -- Join the line: a slot after every email already waiting, so waiting emails do not all wake at once.
    waitUntil = math.max(nextSlot, now + msUntilToken(tokens, rate))
    nextSlot = waitUntil + math.ceil(1 / rate)
    joined = waitUntil
  end
  redis.call('HSET', bucket, 'tokens', tostring(tokens), 'updatedAt', now, 'nextSlot', nextSlot)
  redis.call('PEXPIRE', bucket, math.max(msUntilFull(tokens, rate, burst), nextSlot - now) + 60000)
  if waitUntil then return {reply = {'wait', waitUntil, 'rate', provider}, chosen = chosen, joined = joined} end
  return {chosen = chosen, trial = trial}
end
