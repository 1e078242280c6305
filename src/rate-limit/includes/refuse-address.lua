-- The refusal of a client address past its limit of failed authentications: the time left in its window (a
-- counter found without an expiry gets the window again, so that no address is refused forever) and how
-- many refusals the window has seen.
local function refuseAddress(counter, count, maxFailures, windowMs)
  local ttl = redis.call('PTTL', counter)
  if ttl < 0 then
    ttl = tonumber(windowMs)
    redis.call('PEXPIRE', counter, ttl)
  end
  return {'refused', ttl, count - maxFailures}
end
