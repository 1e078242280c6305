-- Records a successful send, drops the message (it is not needed again), takes the email off the unfinished
-- ones and closes the provider's circuit; for a provider whose events may name only its own message id, keeps
-- that id's way back to the email for as long as the record lives.
-- KEYS[1] email, KEYS[2] the email's message, KEYS[3] the provider message id's entry, KEYS[4] the unfinished
-- emails, KEYS[5] the provider's circuit when it shares the email's slot (one partition; else the caller closes
-- it apart, see ProviderStateStore); ARGV[1] provider, ARGV[2] provider message id, ARGV[3] sentAt,
-- ARGV[4] retention ms, ARGV[5] the email's id to write in KEYS[3], or '' for none; ARGV[6] the email's id.
--- @include "includes/close-circuit.lua"
redis.call('HSET', KEYS[1], 'status', 'sent', 'provider', ARGV[1], 'providerMessageId', ARGV[2], 'sentAt', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('DEL', KEYS[2])
if KEYS[5] then closeCircuit(KEYS[5]) end
redis.call('ZREM', KEYS[4], ARGV[6])
if ARGV[5] ~= '' then redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[4]) end
