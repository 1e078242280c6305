-- Takes an email for delivery in one atomic step, when the email and the providers' shared state are in one
-- slot (one partition, REDIS_PARTITIONS=1), so that it cannot interleave with a cancellation or with another
-- worker. The three steps, each in its include: the email is looked at (claim-look-at-email.lua), a provider
-- and its token are taken (claim-take-provider.lua), and the email is claimed (claim-take-email.lua). With
-- several partitions each step is a script of its own (claim-step-*.lua), since no script may cross slots.
-- Time is Redis's clock, the same for every worker.
--
-- KEYS[1] email; KEYS[2] the set of scheduled emails; KEYS[2i + 1], KEYS[2i + 2]: circuit and bucket of
-- provider i (i = 1..n); then the dead letters, the unfinished emails, and last, the email's message.
-- ARGV: the settings of includes/claim-settings.lua.
-- Returns false (no such email), {'final', status}, {'wait', until, 'circuit' | 'rate', provider?},
-- {'wait', until, 'provider', pinned, 1 when it starts waiting now}, {'unroutable', pinned, reason, attempts,
-- service, requestId, priority} or {'claimed', previous status, attempt, maxAttempts, service, requestId,
-- provider, message, priority}.
--- @include "../redis/lua/includes/redis-now.lua"
--- @include "../redis/lua/includes/token-bucket.lua"
--- @include "includes/claim-settings.lua"
--- @include "includes/claim-look-at-email.lua"
--- @include "includes/claim-take-provider.lua"
--- @include "includes/claim-take-email.lua"
local email, message = KEYS[1], KEYS[#KEYS]
local id = string.match(email, '[^:]+$')
local looked = lookAtEmail(email, KEYS[2], KEYS[#KEYS - 2], KEYS[#KEYS - 1], message, id)
if looked.reply ~= nil then return looked.reply end
local taken = takeProvider(
  function(i) return KEYS[2 * i + 1] end,
  function(i) return KEYS[2 * i + 2] end,
  looked.candidates,
  looked.reserved)
return takeEmail(email, KEYS[2], message, id, taken)
