-- Closes a provider's circuit (KEYS of a circuit hash, see provider-state.store.ts): the provider answered,
-- so its count of failures in a row starts again and a cool-down or trial in progress ends.
local function closeCircuit(circuit)
  redis.call('HDEL', circuit, 'failures', 'openUntil', 'trialUntil')
end
