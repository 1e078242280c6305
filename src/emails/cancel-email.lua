-- Cancels an email if it has not started going out: only from `scheduled`, `queued` or `retrying`, atomically
-- against a worker's claim (which moves it to `sending` in a script of its own), and drops its message.
-- KEYS[1] email, KEYS[2] scheduled set, KEYS[3] the email's message, KEYS[4] unfinished emails. ARGV[1] id,
-- ARGV[2] now (ms). Returns the status it had (false: there is no such email).
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return false end
if status == 'scheduled' or status == 'queued' or status == 'retrying' then
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'cancelledAt', ARGV[2])
  redis.call('HDEL', KEYS[1], 'reservedProvider', 'reservedUntil')
  redis.call('DEL', KEYS[3])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
end
return status
