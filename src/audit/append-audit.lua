-- Appends audit entries: each is stored once, in its service's stream (trimmed to the retention by MINID as
-- it is written), and the email's own list, if it is about an email, points at it (`<service> <stream id>`,
-- expiring with the retention). Redis itself enforces the retention: no job needs to run. Trimming is exact
-- (no `~`): approximate trimming drops only whole stream nodes, which would keep old entries past the
-- retention; exact trimming costs only the few entries that just expired. One call writes the entries of one
-- slot (a partition's, or the shared one): see AuditStore.
-- KEYS[1] the set of services with a stream when ARGV[3] is '1' (else the entries' keys start at KEYS[1]), then
-- per entry its service's stream, followed by its email's list when it has one. ARGV[1] retention ms, ARGV[2]
-- the oldest stream id to keep, ARGV[3] '1' when KEYS[1] is the set of services; then per entry i:
-- ARGV[3i + 1] its service, ARGV[3i + 2] the entry as JSON, ARGV[3i + 3] '1' when it has an email's list.
-- Returns how many entries it appended.
local known = {}
local withServices = ARGV[3] == '1'
local key = withServices and 2 or 1
local count = (#ARGV - 3) / 3
for i = 1, count do
  local service = ARGV[3 * i + 1]
  local id = redis.call('XADD', KEYS[key], 'MINID', ARGV[2], '*', 'e', ARGV[3 * i + 2])
  key = key + 1
  if ARGV[3 * i + 3] == '1' then
    redis.call('RPUSH', KEYS[key], service .. ' ' .. id)
    redis.call('PEXPIRE', KEYS[key], ARGV[1])
    key = key + 1
  end
  if withServices and not known[service] then
    redis.call('SADD', KEYS[1], service)
    known[service] = true
  end
end
return count
