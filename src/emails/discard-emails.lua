-- Removes what write-emails.lua wrote for emails whose jobs could not be queued (nothing else refers to them
-- yet): each record and message, and the email's entries in every index.
-- KEYS[1] index of all, KEYS[2] scheduled set, KEYS[3] unfinished emails, then per email i: KEYS[3i + 1]
-- record, KEYS[3i + 2] message, KEYS[3i + 3] its service's index. ARGV[i] the id of email i.
for i = 1, #ARGV do
  local id = ARGV[i]
  redis.call('DEL', KEYS[3 * i + 1], KEYS[3 * i + 2])
  redis.call('ZREM', KEYS[3 * i + 3], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
end
return #ARGV
