-- Applies one provider event to its email, once: the event's id is remembered (a replay changes nothing),
-- and the status only moves forward from `sent`: `delivered`, then `bounced` or `complained`, which a later
-- `delivered` of another recipient does not undo. Returns {the status before, 1 when it changed, the email's
-- service}; false when the email is unknown (expired, or never ours) and 'duplicate' for an event already
-- applied.
-- KEYS[1] the email's record, KEYS[2] the event's id. ARGV[1] the new status, ARGV[2] now (ms), ARGV[3] the
-- id's lifetime (ms).
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if not redis.call('SET', KEYS[2], '1', 'PX', ARGV[3], 'NX') then return 'duplicate' end
local f = redis.call('HMGET', KEYS[1], 'status', 'service')
local status = f[1]
local rank = { sent = 1, delivered = 2, bounced = 3, complained = 3 }
if not rank[status] or rank[ARGV[1]] <= rank[status] then return {status, 0, f[2]} end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'reportedAt', ARGV[2])
return {status, 1, f[2]}
