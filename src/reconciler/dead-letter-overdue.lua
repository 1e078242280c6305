-- Makes an email dead, as a last failed attempt does, if its status is still the one the reconciler judged.
-- KEYS[1] email, KEYS[2] its message, KEYS[3] dead letters, KEYS[4] unfinished emails. ARGV[1] id, ARGV[2]
-- status judged, ARGV[3] reason, ARGV[4] now, ARGV[5] the record's retention (ms). Returns 1 when it did.
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'dead', 'lastError', ARGV[3], 'deadAt', ARGV[4])
redis.call('HDEL', KEYS[1], 'reservedProvider', 'reservedUntil', 'unroutableSince')
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
