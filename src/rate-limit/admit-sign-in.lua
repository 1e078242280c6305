-- Before a sign-in is checked: an address whose failures have reached the limit is refused, and the refusal
-- counts on (so only the first one of a window is logged); otherwise nothing changes.
-- KEYS[1] the address's counter. ARGV[1] failures allowed per window; ARGV[2] the window in ms.
-- Returns {'open'}, or {'refused', ms left in the window, refusals so far}.
--- @include "includes/refuse-address.lua"
local maxFailures = tonumber(ARGV[1])
if tonumber(redis.call('GET', KEYS[1]) or '0') < maxFailures then return {'open'} end
return refuseAddress(KEYS[1], redis.call('INCR', KEYS[1]), maxFailures, ARGV[2])
