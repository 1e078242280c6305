-- The claim's first step, in the email's partition: the email's status must allow delivery, and the providers
-- it may go to are listed: the pinned one, else the chain starting after the provider whose transient failure
-- made this a retry. An email pinned to a provider this worker does not have waits (no attempt) for a worker
-- that has it, from the first time a worker found it so, for up to the pinned-provider wait; then it is dead,
-- with the reason.
-- Returns {reply = <the claim's reply>} when the claim ends here, else {candidates = <provider indexes, in the
-- order to try>, reserved = <the provider whose line the email is in, or nil>}.
local function lookAtEmail(email, scheduled, deadLetters, unfinished, message, id)
  local f = redis.call('HMGET', email, 'status', 'pinnedProvider', 'provider', 'reservedProvider')
  local status, pinned, last, reserved = f[1], f[2], f[3], f[4]
  if not status then return {reply = false} end
  if not isClaimable(status) then return {reply = {'final', status}} end

  local n = tonumber(ARGV[1])
  local chainLength = tonumber(ARGV[2])
  local candidates = {}
  if pinned then
    for i = 1, n do if providerName(i) == pinned then candidates[1] = i end end
  else
    local start = 1
    if status == 'retrying' and last then
      for i = 1, chainLength do if providerName(i) == last then start = i % chainLength + 1 end end
    end
    for k = 0, chainLength - 1 do candidates[#candidates + 1] = (start - 1 + k) % chainLength + 1 end
  end
  if #candidates > 0 then return {candidates = candidates, reserved = reserved} end

  local since = tonumber(redis.call('HGET', email, 'unroutableSince'))
  if not since then
    since = now
    redis.call('HSET', email, 'unroutableSince', now)
  end
  local deadline = since + tonumber(ARGV[3])
  if now < deadline then
    return {reply = {'wait', math.min(deadline, now + tonumber(ARGV[4])), 'provider', pinned, since == now and 1 or 0}}
  end
  local reason = 'provider ' .. pinned .. ' is not configured on the workers that took this email'
  redis.call('HSET', email, 'status', 'dead', 'lastError', reason, 'deadAt', now)
  redis.call('HDEL', email, 'unroutableSince', 'reservedProvider', 'reservedUntil')
  redis.call('PEXPIRE', email, ARGV[5])
  redis.call('PEXPIRE', message, ARGV[5])
  redis.call('ZREM', scheduled, id)
  redis.call('ZADD', deadLetters, now, id)
  redis.call('ZREM', unfinished, id)
  local m = redis.call('HMGET', email, 'attempts', 'service', 'requestId', 'priority')
  return {reply = {'unroutable', pinned, reason, m[1], m[2], m[3], m[4]}}
end
