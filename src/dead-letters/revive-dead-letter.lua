-- Puts a dead email back to `queued` with fresh attempts, atomically: only a dead one, once. It joins the
-- unfinished emails as of now, so that if its job is not queued after all (the caller fails or dies before
-- that), the reconciler queues it. Returns its priority and service, or false when it is not dead (already
-- retried, or gone).
-- A script stops at a failing command without undoing the ones before, so the writes are ordered to leave
-- something whole wherever one fails: the unfinished entry first (fails: nothing changed), then the record
-- (from then on the reconciler has it), then the dead-letter list.
-- KEYS[1] email; KEYS[2] dead letters; KEYS[3] unfinished emails. ARGV[1] id, ARGV[2] now (ms).
if redis.call('HGET', KEYS[1], 'status') ~= 'dead' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return false
end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[1], 'status', 'queued', 'attempts', 0)
redis.call('HDEL', KEYS[1], 'deadAt', 'reservedProvider', 'reservedUntil', 'unroutableSince')
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HMGET', KEYS[1], 'priority', 'service')
