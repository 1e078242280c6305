#!/usr/bin/env bash
# FreeFace quick test: is it up, and does an email go out? About ten seconds at most (docs/DEPLOYMENT.md).
#   TOKEN=st_live_… BASE_URL=https://mail.internal.example.com scripts/quick-test.sh
# Checks /health, /health/ready, sends one email (202) and waits up to QUICK_TIMEOUT seconds (8) for it to be sent.
# BASE_URL defaults to http://localhost:3000; TOKEN (send and read scopes) is required; QUICK_TO is the
# recipient (default quick-test@example.com: with a real provider the email is really sent). Needs bash and curl.
set -uo pipefail

BASE_URL="${BASE_URL:-http://localhost:3000}"
BASE_URL="${BASE_URL%/}"
TOKEN="${TOKEN:-}"
QUICK_TO="${QUICK_TO:-quick-test@example.com}"
QUICK_TIMEOUT="${QUICK_TIMEOUT:-8}"
if [ -z "$TOKEN" ]; then
  echo "usage: TOKEN=<service token with send,read> [BASE_URL=http://localhost:3000] $0" >&2
  exit 2
fi

passed=0
failed=0
pass() {
  passed=$((passed + 1))
  printf 'PASS  %s\n' "$1"
}
fail() {
  failed=$((failed + 1))
  printf 'FAIL  %s: %s\n' "$1" "$2"
}
finish() {
  printf 'quick: %d passed, %d failed\n' "$passed" "$failed"
  [ "$failed" -eq 0 ]
  exit
}
# call URL [curl options…]: prints the body, then the HTTP status on a line of its own.
call() { curl -sS --max-time 3 -w '\n%{http_code}' "$@" 2>/dev/null || printf '\n000'; }
# field NAME JSON: a string field of a compact JSON body ('' when there is none).
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" <<<"$2" | head -n 1; }

response="$(call "$BASE_URL/health")"
if [ "${response##*$'\n'}" = 200 ]; then
  pass "GET /health"
else
  fail "GET /health" "HTTP ${response##*$'\n'} from $BASE_URL"
  finish
fi
response="$(call "$BASE_URL/health/ready")"
if [ "${response##*$'\n'}" = 200 ]; then
  pass "GET /health/ready"
else
  fail "GET /health/ready" "HTTP ${response##*$'\n'}: ${response%$'\n'*}"
fi

response="$(call "$BASE_URL/api/v1/emails" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d "{\"to\":[\"$QUICK_TO\"],\"subject\":\"FreeFace quick test\",\"text\":\"Sent by scripts/quick-test.sh.\",\"priority\":\"high\",\"tags\":[\"quick-test\"]}")"
id="$(field id "${response%$'\n'*}")"
if [ "${response##*$'\n'}" = 202 ] && [ -n "$id" ]; then
  pass "POST /api/v1/emails: 202, id $id"
else
  fail "POST /api/v1/emails" "HTTP ${response##*$'\n'}: ${response%$'\n'*}"
  finish
fi

status=""
deadline=$((SECONDS + QUICK_TIMEOUT))
while [ "$SECONDS" -lt "$deadline" ]; do
  response="$(call "$BASE_URL/api/v1/emails/$id" -H "Authorization: Bearer $TOKEN")"
  status="$(field status "${response%$'\n'*}")"
  case "$status" in sent | delivered | dead | cancelled | suppressed) break ;; esac
  sleep 0.3
done
case "$status" in
  sent | delivered) pass "the email is $status" ;;
  *) fail "the email is sent within ${QUICK_TIMEOUT}s" "status ${status:-unknown}" ;;
esac
finish
