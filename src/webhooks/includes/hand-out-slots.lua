-- Gives the free slots of an endpoint (`limit` minus those taken) to the jobs that have waited longest, until
-- `leaseUntil`; returns their ids, for their jobs to be woken.
local function handOut(slots, line, limit, leaseUntil)
  local free = limit - redis.call('ZCARD', slots)
  if free <= 0 then return {} end
  local next = redis.call('ZRANGE', line, 0, free - 1)
  for _, job in ipairs(next) do
    redis.call('ZADD', slots, leaseUntil, job)
    redis.call('ZREM', line, job)
  end
  return next
end
