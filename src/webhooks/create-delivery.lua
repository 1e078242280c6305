-- Creates one delivery record unless it exists. KEYS[1] the record, KEYS[2] the endpoint's list, KEYS[3] its
-- pending list; ARGV[1] the id, ARGV[2] now, ARGV[3] retention ms, ARGV[4..8] webhookId, eventId, type,
-- emailId, payload. Returns 1 when it created it.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'webhookId', ARGV[4], 'eventId', ARGV[5], 'type', ARGV[6], 'emailId', ARGV[7],
  'status', 'pending', 'attempts', 0, 'createdAt', ARGV[2], 'payload', ARGV[8])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
