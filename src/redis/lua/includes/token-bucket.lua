-- Token bucket maths, for every bucket the scripts keep: a bucket holds up to `burst` tokens and refills
-- continuously at `rate` tokens per millisecond. Each script stores its bucket's tokens and the time they
-- were counted in a hash of its own, and a missing bucket (never used, or expired) is a full one.

-- The tokens at `now` of a bucket that held `tokens` at `at` (both nil: a missing bucket).
local function refilledTokens(tokens, at, now, rate, burst)
  if not tokens or not at then return burst end
  return math.min(burst, tokens + math.max(0, now - at) * rate)
end

-- How long until a bucket holding `tokens` (fewer than one) has a whole token.
local function msUntilToken(tokens, rate)
  return math.ceil((1 - tokens) / rate)
end

-- How long until a bucket holding `tokens` is full again: from then on it may as well not exist.
local function msUntilFull(tokens, rate, burst)
  return math.ceil((burst - tokens) / rate)
end
