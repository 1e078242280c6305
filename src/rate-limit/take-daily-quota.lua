-- Takes `count` emails and `bytes` bytes from a service's quotas of the day, all or none, in one step for
-- every api replica. A quota of -1 does not apply (its counter is left alone).
-- KEYS[1] the day's email counter, KEYS[2] its byte counter. ARGV[1] count; ARGV[2] the email quota; ARGV[3]
-- bytes; ARGV[4] the byte quota; ARGV[5] the counters' lifetime in ms.
-- Returns {1} when taken, or (nothing counted) {0, 'emails' or 'bytes', what that counter holds}.
local counters = {
  {KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), 'emails'},
  {KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]), 'bytes'},
}
for _, c in ipairs(counters) do
  if c[3] >= 0 then
    local used = tonumber(redis.call('GET', c[1]) or '0')
    if used + c[2] > c[3] then return {0, c[4], used} end
  end
end
for _, c in ipairs(counters) do
  if c[3] >= 0 then
    redis.call('INCRBY', c[1], c[2])
    redis.call('PEXPIRE', c[1], ARGV[5])
  end
end
return {1}
