-- Names the recipients left out of an email because they are suppressed. When none is left (ARGV[3] '1'),
-- the email ends `suppressed`: its message is dropped, as a sent one's is, and it is off the unfinished ones.
-- KEYS[1] email, KEYS[2] the email's message, KEYS[3] unfinished emails. ARGV[1] the email's id, ARGV[2]
-- the suppressed recipients (JSON), ARGV[3] '1' when none is left, ARGV[4] retention ms.
redis.call('HSET', KEYS[1], 'suppressed', ARGV[2])
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'status', 'suppressed')
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
