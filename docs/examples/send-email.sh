#!/usr/bin/env bash
# Send one email through FreeFace and wait until it is sent, with cURL. Needs bash and curl only.
#
#   FREEFACE_URL=http://localhost:3000 FREEFACE_TOKEN=st_dev_... bash docs/examples/send-email.sh
#
# Environment: FREEFACE_URL (default http://localhost:3000), FREEFACE_TOKEN (required; scopes send and read),
# FREEFACE_TO (the recipient, default ana@example.com), FREEFACE_TIMEOUT (seconds to wait for "sent", default 60).
# Exit status: 0 once the email is sent; 1 when it is refused, fails or is not sent in time; 2 for a usage error.
# See docs/INTEGRATION.md. JSON is read with sed to keep to curl alone; in your own scripts, jq is the better tool.
set -uo pipefail

BASE_URL="${FREEFACE_URL:-http://localhost:3000}"
BASE_URL="${BASE_URL%/}"
TOKEN="${FREEFACE_TOKEN:-}"
TO="${FREEFACE_TO:-ana@example.com}"
TIMEOUT_SECONDS="${FREEFACE_TIMEOUT:-60}"
if [ -z "$TOKEN" ]; then
  echo "set FREEFACE_TOKEN to a service token (scopes send and read)" >&2
  exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# call METHOD PATH [curl options…]: sets STATUS ('000' when there was no answer); body and headers in $work.
call() {
  local method="$1" path="$2"
  shift 2
  rm -f "$work/body" "$work/headers"
  STATUS="$(curl -sS -X "$method" "$BASE_URL$path" -H "Authorization: Bearer $TOKEN" -H 'Accept: application/json' \
    --max-time 10 -o "$work/body" -D "$work/headers" -w '%{http_code}' "$@" 2>"$work/error")" || STATUS=000
}
# A response header, or ''.
header() { grep -i "^$1:" "$work/headers" 2>/dev/null | head -n 1 | cut -d: -f2- | tr -d '\r '; }
# A string field of the (compact) JSON body, or ''.
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" "$work/body" 2>/dev/null | head -n 1; }
# Retry-After in seconds (FreeFace sends whole seconds), kept between 1 and 60.
retry_after() {
  local value
  value="$(header retry-after)"
  case "$value" in '' | *[!0-9]*) echo 1 ;; *) echo $((value < 1 ? 1 : value > 60 ? 60 : value)) ;; esac
}
# An application/problem+json error: title, detail, each field's message and the request id.
print_problem() {
  echo "HTTP $STATUS $(field title): $(field detail)" >&2
  grep -o '"field":"[^"]*","message":"[^"]*"' "$work/body" 2>/dev/null | sed 's/"field":"\([^"]*\)","message":"\([^"]*\)"/  \1: \2/' >&2
  if [ -n "$(field requestId)" ]; then echo "  requestId $(field requestId)" >&2; fi
}

# The same key on the retry: if the first request did get through, the retry gets its answer back
# (Idempotent-Replayed: true) instead of sending a second email.
key="$(uuidgen 2>/dev/null || cat /proc/sys/kernel/random/uuid 2>/dev/null || echo "$(date +%s)-$RANDOM$RANDOM$RANDOM")"
email="{\"to\":[\"$TO\"],\"subject\":\"Hello from cURL\",\"text\":\"Sent with docs/examples/send-email.sh.\",\"tags\":[\"example\"],\"metadata\":{\"example\":\"curl\"}}"

echo "sending to $TO through $BASE_URL"
id=""
for attempt in 1 2; do
  call POST /api/v1/emails -H 'Content-Type: application/json' -H "Idempotency-Key: $key" -d "$email"
  if [ "$STATUS" = 202 ]; then
    id="$(field id)"
    replayed=""
    [ "$(header idempotent-replayed)" = true ] && replayed=" (replayed)"
    echo "accepted$replayed: id $id, status $(field status), Location $(header location)"
    break
  fi
  if [ "$attempt" = 1 ] && [ "$STATUS" = 000 ]; then
    echo "no answer ($(cat "$work/error")); retrying once in 1s with the same Idempotency-Key $key"
    sleep 1
    continue
  fi
  # 429 rate limited, 503 Redis unreachable for a moment, 409 with Retry-After: the first request with this
  # Idempotency-Key is still running.
  if [ "$attempt" = 1 ] && { [ "$STATUS" = 429 ] || [ "$STATUS" = 503 ] || { [ "$STATUS" = 409 ] && [ -n "$(header retry-after)" ]; }; }; then
    wait="$(retry_after)"
    echo "HTTP $STATUS: retrying once in ${wait}s (Retry-After) with the same Idempotency-Key $key"
    sleep "$wait"
    continue
  fi
  if [ "$STATUS" = 000 ]; then echo "no answer from $BASE_URL: $(cat "$work/error")" >&2; else print_problem; fi
  exit 1
done
[ -n "$id" ] || exit 1

# Poll the status until it is sent, can no longer be sent, or time runs out.
deadline=$((SECONDS + TIMEOUT_SECONDS))
last=""
while [ "$SECONDS" -lt "$deadline" ]; do
  call GET "/api/v1/emails/$id"
  case "$STATUS" in
    200) ;;
    429 | 503) sleep "$(retry_after)" && continue ;;
    000) echo "no answer; asking again" && sleep 1 && continue ;;
    *)
      print_problem
      exit 1
      ;;
  esac
  status="$(field status)"
  if [ "$status" != "$last" ]; then
    last="$status"
    echo "status: $status"
  fi
  case "$status" in
    sent | delivered)
      echo "sent through $(field provider), Message-ID $(field providerMessageId)"
      exit 0
      ;;
    dead | cancelled | suppressed | bounced | complained)
      echo "not sent ($status): $(field lastError)" >&2
      exit 1
      ;;
  esac
  sleep 1
done
echo "still $last after ${TIMEOUT_SECONDS}s" >&2
exit 1
