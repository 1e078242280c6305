-- The claim's second step on its own, with several partitions (see claim-for-delivery.lua): a provider and its
-- token, in the providers' shared slot (includes/claim-take-provider.lua).
-- KEYS[2i - 1], KEYS[2i]: circuit and bucket of provider i. ARGV: the settings of includes/claim-settings.lua,
-- then the provider whose line the email is in ('' for none), then the candidates' indexes.
-- Returns {'token', chosen, 1 when the send is its circuit's trial else 0} or {'wait', chosen (0: none),
-- the slot taken in line (0: none), the claim's wait reply…}.
--- @include "../redis/lua/includes/redis-now.lua"
--- @include "../redis/lua/includes/token-bucket.lua"
--- @include "includes/claim-settings.lua"
--- @include "includes/claim-take-provider.lua"
local reserved = ARGV[STEP_ARGS] ~= '' and ARGV[STEP_ARGS] or nil
local candidates = {}
for i = STEP_ARGS + 1, #ARGV do candidates[#candidates + 1] = tonumber(ARGV[i]) end
local taken = takeProvider(
  function(i) return KEYS[2 * i - 1] end,
  function(i) return KEYS[2 * i] end,
  candidates,
  reserved)
if not taken.reply then return {'token', taken.chosen, taken.trial and 1 or 0} end
return {'wait', taken.chosen or 0, taken.joined or 0, unpack(taken.reply)}
