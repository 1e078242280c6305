-- `now`: Redis's clock in milliseconds, the same for every process whatever their own clocks say.
local redisTime = redis.call('TIME')
local now = tonumber(redisTime[1]) * 1000 + math.floor(tonumber(redisTime[2]) / 1000)
