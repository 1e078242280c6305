-- A job asks for a slot. Paused: it gives up any slot it had and stays in line (`held`). Holding a slot
-- already (handed to it while it waited, or its own from a run that was cut short): it may send. Else it
-- takes its place in line (by its delivery's age, so a job that comes back keeps its place) and the free
-- slots go to the longest waiting, which may be itself. The health hash is made here if missing: it exists
-- exactly while the endpoint does (the caller just read the endpoint; deleting it forgets the hash).
-- KEYS[1] slots, KEYS[2] line, KEYS[3] health. ARGV[1] job id, ARGV[2] its place in line, ARGV[3] lease ms,
-- ARGV[4] limit. Returns {verdict, ids of the other jobs handed a slot...}.
--- @include "../redis/lua/includes/redis-now.lua"
--- @include "includes/hand-out-slots.lua"
local job = ARGV[1]
redis.call('HSETNX', KEYS[3], 'timeouts', 0)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('HEXISTS', KEYS[3], 'pausedAt') == 1 then
  redis.call('ZREM', KEYS[1], job)
  redis.call('ZADD', KEYS[2], 'NX', ARGV[2], job)
  return {'held'}
end
local leaseUntil = now + tonumber(ARGV[3])
if redis.call('ZSCORE', KEYS[1], job) then
  redis.call('ZADD', KEYS[1], leaseUntil, job)
  redis.call('ZREM', KEYS[2], job)
  return {'admitted'}
end
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], job)
local verdict = 'waiting'
local others = {}
for _, given in ipairs(handOut(KEYS[1], KEYS[2], tonumber(ARGV[4]), leaseUntil)) do
  if given == job then verdict = 'admitted' else others[#others + 1] = given end
end
return {verdict, unpack(others)}
