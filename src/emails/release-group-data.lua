-- Drops one group email's claim on the group's shared data (its bit); the last claim dropped drops the data.
-- Releasing a member twice, or after the data has expired, changes nothing (and creates no key).
-- KEYS[1] shared data, KEYS[2] members bitmap. ARGV[1] the member's place. Returns 1 when it held a claim.
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local held = redis.call('SETBIT', KEYS[2], ARGV[1], 0)
if held == 1 and redis.call('BITCOUNT', KEYS[2]) == 0 then redis.call('DEL', KEYS[1], KEYS[2]) end
return held
