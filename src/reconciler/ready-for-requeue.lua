-- Before an email's job is queued again: only if its status is still the one the reconciler judged, and it
-- counts as seen now, so that if queueing the job fails it comes round again one bound later rather than at
-- every sweep. KEYS[1] email, KEYS[2] unfinished emails. ARGV[1] id, ARGV[2] status judged, ARGV[3] now.
-- Returns 1 when it is ready, 0 when its status has changed meanwhile.
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
