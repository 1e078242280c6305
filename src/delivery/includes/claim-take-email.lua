-- The claim's last step, in the email's partition, with what the provider step decided (`taken`, see
-- claim-take-provider.lua): the email's status is looked at again (apart from the first step, something may
-- have changed it since); an email that took a place in line keeps the provider's name and its slot; one that
-- got its token becomes `sending`, its attempt counted, and its message is returned.
-- Returns false (no such email), {'final', status} (the caller gives a token it took back), the provider
-- step's wait reply, or {'claimed', previous status, attempt, maxAttempts, service, requestId, provider,
-- message, priority}.
local function takeEmail(email, scheduled, message, id, taken)
  local f = redis.call('HMGET', email, 'status', 'reservedProvider', 'pinnedProvider')
  local status, reserved, pinned = f[1], f[2], f[3]
  if not status then return false end
  if not isClaimable(status) then return {'final', status} end
  local provider = taken.chosen and providerName(taken.chosen)
  if reserved and provider and (reserved ~= provider or not taken.reply) then
    redis.call('HDEL', email, 'reservedProvider', 'reservedUntil')
  end
  if taken.reply then
    if taken.joined then redis.call('HSET', email, 'reservedProvider', provider, 'reservedUntil', taken.joined) end
    return taken.reply
  end
  if status == 'scheduled' then redis.call('ZREM', scheduled, id) end
  local attempt = redis.call('HINCRBY', email, 'attempts', 1)
  redis.call('HSET', email, 'status', 'sending', 'provider', provider, 'attemptAt', now)
  if pinned then redis.call('HDEL', email, 'unroutableSince') end
  local m = redis.call('HMGET', email, 'maxAttempts', 'service', 'requestId', 'priority')
  return {'claimed', status, attempt, m[1], m[2], m[3], provider, redis.call('GET', message), m[4]}
end
