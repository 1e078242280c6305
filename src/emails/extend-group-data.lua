-- Makes a group's shared data and its members bitmap (KEYS[1], KEYS[2]) live at least ARGV[1] ms from now;
-- never shortens a lifetime, never revives a key.
for _, key in ipairs(KEYS) do
  local ttl = redis.call('PTTL', key)
  if ttl >= 0 and ttl < tonumber(ARGV[1]) then redis.call('PEXPIRE', key, ARGV[1]) end
end
