-- The claim's first step on its own, with several partitions (see claim-for-delivery.lua): the email, in its
-- partition, is looked at (includes/claim-look-at-email.lua).
-- KEYS[1] email, KEYS[2] the partition's scheduled emails, KEYS[3] its dead letters, KEYS[4] its unfinished
-- emails, KEYS[5] the email's message. ARGV: the settings of includes/claim-settings.lua.
-- Returns the claim's reply when it ends here (as claim-for-delivery.lua), else {'look', the provider whose
-- line the email is in or '', the candidates' indexes…}.
--- @include "../redis/lua/includes/redis-now.lua"
--- @include "includes/claim-settings.lua"
--- @include "includes/claim-look-at-email.lua"
local id = string.match(KEYS[1], '[^:]+$')
local looked = lookAtEmail(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], id)
if looked.reply ~= nil then return looked.reply end
return {'look', looked.reserved or '', unpack(looked.candidates)}
