-- Sets a hash field only when the value is higher than the one stored (a time every replica writes, such as
-- a service's last call). KEYS[1] hash. ARGV[1] field, ARGV[2] value.
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if not current or tonumber(ARGV[2]) > current then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
