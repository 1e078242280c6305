-- The settings every step of the claim reads from its arguments, laid out alike in each of its scripts
-- (see delivery.store.ts): ARGV[1] n, the providers; ARGV[2] the chain's length (the first providers are the
-- chain, in order; the rest are enabled outside it, usable when pinned); ARGV[3] the pinned-provider wait (ms);
-- ARGV[4] how long an email pinned to a provider no worker has waits before it looks again (ms); ARGV[5] the
-- record's retention (ms); ARGV[6] the claimable statuses, comma-separated; then per provider i: name, tokens
-- per ms (0: no limit), burst. A step's own arguments follow, from ARGV[STEP_ARGS].
local SETTINGS = 6
local STEP_ARGS = SETTINGS + 1 + 3 * tonumber(ARGV[1])
local function providerName(i) return ARGV[SETTINGS + 1 + 3 * (i - 1)] end
local function providerRate(i) return tonumber(ARGV[SETTINGS + 2 + 3 * (i - 1)]) end
local function providerBurst(i) return tonumber(ARGV[SETTINGS + 3 + 3 * (i - 1)]) end
local function isClaimable(status)
  return string.find(',' .. ARGV[6] .. ',', ',' .. status .. ',', 1, true) ~= nil
end
