-- Records a failed attempt: `retrying` when another will follow, `dead` (and in the dead letters, off the
-- unfinished emails) when none will. The message is kept for the retention, so that a dead letter can be
-- retried. A permanent refusal is still an answer: the provider is up, so its circuit closes.
-- KEYS[1] email, KEYS[2] the email's message, KEYS[3] dead letters, KEYS[4] unfinished emails, KEYS[5] the
-- provider's circuit when it shares the email's slot (one partition; else the caller closes it apart). ARGV[1] the email's id, ARGV[2] 'retrying' or 'dead', ARGV[3] provider, ARGV[4] the
-- reason, ARGV[5] when (ms), ARGV[6] retention ms, ARGV[7] '1' when the failure is permanent.
--- @include "includes/close-circuit.lua"
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'provider', ARGV[3], 'lastError', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
if ARGV[7] == '1' and KEYS[5] then closeCircuit(KEYS[5]) end
if ARGV[2] == 'dead' then
  redis.call('HSET', KEYS[1], 'deadAt', ARGV[5])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
end
