-- Counts one failed authentication against a client address, in one step for every replica. The window
-- starts with the address's first failure and the counter expires with it; past the limit the counter goes
-- on (so that only the first refusal of a window is logged) without moving the window's end.
-- KEYS[1] the address's counter. ARGV[1] failures allowed per window; ARGV[2] the window in ms.
-- Returns {'counted'} within the limit, else {'refused', ms left in the window, refusals so far}.
--- @include "includes/refuse-address.lua"
local maxFailures = tonumber(ARGV[1])
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if count <= maxFailures then return {'counted'} end
return refuseAddress(KEYS[1], count, maxFailures, ARGV[2])
