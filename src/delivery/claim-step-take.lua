-- The claim's last step on its own, with several partitions (see claim-for-delivery.lua): the email, in its
-- partition, claimed with what the provider step decided (includes/claim-take-email.lua). When this finds the
-- email no longer claimable, the caller gives the token the provider step took back (give-back-token.lua).
-- KEYS[1] email, KEYS[2] the partition's scheduled emails, KEYS[3] the email's message. ARGV: the settings
-- of includes/claim-settings.lua, then the provider step's reply.
-- Returns the claim's reply, as claim-for-delivery.lua.
--- @include "../redis/lua/includes/redis-now.lua"
--- @include "includes/claim-settings.lua"
--- @include "includes/claim-take-email.lua"
local id = string.match(KEYS[1], '[^:]+$')
local chosen = tonumber(ARGV[STEP_ARGS + 1])
local taken = {chosen = chosen > 0 and chosen or nil}
if ARGV[STEP_ARGS] == 'wait' then
  local joined = tonumber(ARGV[STEP_ARGS + 2])
  taken.joined = joined > 0 and joined or nil
  taken.reply = {}
  for i = STEP_ARGS + 3, #ARGV do taken.reply[#taken.reply + 1] = ARGV[i] end
  -- Times go back as numbers, as the one-step claim returns them.
  taken.reply[2] = tonumber(taken.reply[2])
end
return takeEmail(KEYS[1], KEYS[2], KEYS[3], id, taken)
