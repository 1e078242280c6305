#!/usr/bin/env bash
# FreeFace smoke test: an end-to-end check of a running deployment in 7 levels (docs/DEPLOYMENT.md).
#   1 infrastructure   2 authentication   3 sending   4 delivery   5 audit trail   6 monitoring   7 cleanup
# Each check prints PASS, FAIL or SKIP with a short name; the last line counts them. Exit 0 only without a FAIL.
#
#   TOKEN=st_live_… BASE_URL=https://mail.internal.example.com scripts/smoke-test.sh
#
# Environment:
#   BASE_URL            the API (default http://localhost:3000)
#   TOKEN               a service token with the send and read scopes (required)
#   ADMIN_TOKEN         a token with the admin scope, for GET /api/v1/queues (else that check is skipped)
#   WORKER_URL          a worker's probe port, e.g. http://worker-0:3001; several separated by commas or spaces
#   MONITOR_URL         the monitor, e.g. http://localhost:8011
#   DASHBOARD_USER, DASHBOARD_PASSWORD   the monitor's sign-in, to check it lets you in
#   MAILCATCHER_URL     a MailDev web/API address (e.g. http://localhost:1080): delivery is then checked there
#   SMOKE_TO            the recipient (default smoke-test@example.com). With a real provider the emails are really
#                       sent: use an address you own.
#   SMOKE_TIMEOUT       seconds to wait for each delivery (default 30)
#   SMOKE_CLEANUP_MAILCATCHER   true/false: delete this run's messages from the mail catcher (default true when
#                       the catcher is on this machine, false otherwise)
# Needs bash, curl and node (any version from 18 on) for reading JSON.
set -uo pipefail

BASE_URL="${BASE_URL:-http://localhost:3000}"
BASE_URL="${BASE_URL%/}"
TOKEN="${TOKEN:-}"
ADMIN_TOKEN="${ADMIN_TOKEN:-}"
WORKER_URL="${WORKER_URL:-}"
MONITOR_URL="${MONITOR_URL:-}"
MONITOR_URL="${MONITOR_URL%/}"
DASHBOARD_USER="${DASHBOARD_USER:-}"
DASHBOARD_PASSWORD="${DASHBOARD_PASSWORD:-}"
MAILCATCHER_URL="${MAILCATCHER_URL:-}"
MAILCATCHER_URL="${MAILCATCHER_URL%/}"
SMOKE_TO="${SMOKE_TO:-smoke-test@example.com}"
SMOKE_TIMEOUT="${SMOKE_TIMEOUT:-30}"

if [ -z "$TOKEN" ]; then
  echo "usage: TOKEN=<service token with send,read> [BASE_URL=http://localhost:3000] $0" >&2
  echo "  (see the header of $0 for the optional variables)" >&2
  exit 2
fi
for tool in curl node; do
  command -v "$tool" >/dev/null || {
    echo "$0 needs $tool on PATH" >&2
    exit 2
  }
done

if [ -z "${SMOKE_CLEANUP_MAILCATCHER:-}" ]; then
  case "$MAILCATCHER_URL" in
    http://localhost[:/]* | http://127.0.0.1[:/]* | http://\[::1\][:/]* | http://localhost | http://127.0.0.1)
      SMOKE_CLEANUP_MAILCATCHER=true ;;
    *) SMOKE_CLEANUP_MAILCATCHER=false ;;
  esac
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)-$RANDOM$RANDOM"
passed=0
failed=0
skipped=0

pass() {
  passed=$((passed + 1))
  printf 'PASS  %s\n' "$1"
}
fail() {
  failed=$((failed + 1))
  printf 'FAIL  %s: %s\n' "$1" "$2"
}
skip() {
  skipped=$((skipped + 1))
  printf 'SKIP  %s: %s\n' "$1" "$2"
}
level() { printf '\n== %s\n' "$*"; }

# request METHOD URL [curl options…]: sets STATUS, and the body and headers in $work/body, $work/headers.
request() {
  local method="$1" url="$2"
  shift 2
  rm -f "$work/body" "$work/headers"
  STATUS="$(curl -sS -X "$method" -o "$work/body" -D "$work/headers" -w '%{http_code}' --max-time 15 "$@" "$url" 2>"$work/curl-error")" ||
    STATUS="000"
}
# The body of the last request, shortened, for a FAIL line.
body() { head -c 300 "$work/body" 2>/dev/null | tr '\n' ' '; }
# header NAME: a header of the last response ('' when absent).
header() { grep -i "^$1:" "$work/headers" 2>/dev/null | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }
# json EXPR [FILE]: a JavaScript expression over the parsed JSON `j` (default: the last body), printed ('' on error).
json() {
  node -e '
    const fs = require("fs");
    try {
      const j = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      const value = eval(process.argv[2]);
      if (value !== undefined && value !== null) process.stdout.write(typeof value === "object" ? JSON.stringify(value) : String(value));
    } catch {}
  ' "${2:-$work/body}" "$1"
}
auth=(-H "Authorization: Bearer $TOKEN")
json_post=(-H 'Content-Type: application/json')

# expect_status NAME EXPECTED: PASS when the last request answered EXPECTED, else FAIL with what came back.
expect_status() {
  if [ "$STATUS" = "$2" ]; then
    pass "$1"
  elif [ "$STATUS" = "000" ]; then
    fail "$1" "no answer ($(tr '\n' ' ' <"$work/curl-error"))"
  else
    fail "$1" "expected HTTP $2, got $STATUS: $(body)"
  fi
}

# workers_sent_total: sets SENT_TOTAL to the sum of freeface_emails_sent_total over the WORKER_URL workers, and
# WORKERS_REFUSED to the HTTP status of a worker whose /metrics refused the token ('' when none did).
workers_sent_total() {
  SENT_TOTAL=0
  WORKERS_REFUSED=""
  local url n
  for url in ${WORKER_URL//,/ }; do
    request GET "${url%/}/metrics" "${auth[@]}"
    if [ "$STATUS" = 200 ]; then
      n="$(awk '/^freeface_emails_sent_total\{/ { s += $NF } END { printf "%d", s }' "$work/body")"
      SENT_TOTAL=$((SENT_TOTAL + n))
    else
      WORKERS_REFUSED="$STATUS"
    fi
  done
}

# wait_for_sent NAME ID: polls the email until it is sent (PASS) or ends otherwise or times out (FAIL).
wait_for_sent() {
  local name="$1" id="$2" status="" deadline=$((SECONDS + SMOKE_TIMEOUT))
  while [ "$SECONDS" -le "$deadline" ]; do
    request GET "$BASE_URL/api/v1/emails/$id" "${auth[@]}"
    status="$(json 'j.status')"
    case "$status" in
      sent | delivered) break ;;
      dead | cancelled | suppressed | bounced | complained) break ;;
    esac
    sleep 0.5
  done
  case "$status" in
    sent | delivered) pass "$name (status $status)" ;;
    *) fail "$name" "status is ${status:-unknown} after ${SMOKE_TIMEOUT}s (lastError: $(json 'j.lastError'))" ;;
  esac
}

echo "FreeFace smoke test against $BASE_URL (run $RUN_ID)"

# --- 1. Infrastructure --------------------------------------------------------------------------------------
level "1. Infrastructure"
request GET "$BASE_URL/health"
if [ "$STATUS" = 200 ] && [ "$(json 'j.status')" = ok ]; then
  pass "api /health"
else
  expect_status "api /health" 200
  echo "The API does not answer at $BASE_URL; stopping here."
  printf '\nsmoke: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
  exit 1
fi
request GET "$BASE_URL/health/ready"
expect_status "api /health/ready (Redis, queues, providers)" 200
if [ -n "$WORKER_URL" ]; then
  for url in ${WORKER_URL//,/ }; do
    url="${url%/}"
    request GET "$url/health"
    expect_status "worker $url/health" 200
    request GET "$url/health/ready"
    expect_status "worker $url/health/ready" 200
  done
  workers_sent_total
  sent_before="$SENT_TOTAL"
else
  skip "worker health" "set WORKER_URL to a worker's probe port (WORKER_HEALTH_PORT, 3001)"
fi
if [ -n "$MONITOR_URL" ]; then
  request GET "$MONITOR_URL/health"
  expect_status "monitor /health" 200
  request GET "$MONITOR_URL/health/ready"
  expect_status "monitor /health/ready" 200
else
  skip "monitor health" "set MONITOR_URL (MONITOR_PORT, 8011)"
fi

# --- 2. Authentication --------------------------------------------------------------------------------------
level "2. Authentication"
request GET "$BASE_URL/api/v1/emails?limit=1"
if [ "$STATUS" = 401 ] && header content-type | grep -q 'application/problem+json'; then
  pass "401 problem+json without a token"
else
  fail "401 problem+json without a token" "got $STATUS ($(header content-type)): $(body)"
fi
request GET "$BASE_URL/api/v1/emails?limit=1" -H 'Authorization: Bearer st_dev_ThisIsNotARealTokenAtAll0000000'
expect_status "401 with a wrong token" 401
request GET "$BASE_URL/api/v1/emails?limit=1" "${auth[@]}"
expect_status "200 with the token" 200
if [ -n "$(header x-request-id)" ]; then pass "X-Request-Id on the response"; else fail "X-Request-Id on the response" "missing"; fi

# --- 3. Sending ---------------------------------------------------------------------------------------------
level "3. Sending"
subject="FreeFace smoke test $RUN_ID"
inline_body="{\"to\":[\"$SMOKE_TO\"],\"subject\":\"$subject\",\"text\":\"Sent by scripts/smoke-test.sh; nothing to do.\",\"tags\":[\"smoke-test\"]}"
request POST "$BASE_URL/api/v1/emails" "${auth[@]}" "${json_post[@]}" -H "Idempotency-Key: smoke-$RUN_ID" -d "$inline_body"
inline_id="$(json 'j.id')"
location="$(header location)"
if [ "$STATUS" = 202 ] && [ -n "$inline_id" ] && [ "$location" = "/api/v1/emails/$inline_id" ]; then
  pass "inline email: 202 with Location"
else
  fail "inline email: 202 with Location" "got $STATUS, Location '$location': $(body)"
fi
request POST "$BASE_URL/api/v1/emails" "${auth[@]}" "${json_post[@]}" -H "Idempotency-Key: smoke-$RUN_ID" -d "$inline_body"
if [ "$STATUS" = 202 ] && [ "$(json 'j.id')" = "$inline_id" ] && [ "$(header idempotent-replayed)" = true ]; then
  pass "the same Idempotency-Key replays the first answer"
else
  fail "the same Idempotency-Key replays the first answer" "got $STATUS, id $(json 'j.id'), Idempotent-Replayed '$(header idempotent-replayed)'"
fi

template_data='{"name":"Smoke","product":"FreeFace","actionUrl":"https://example.com/smoke"}'
request POST "$BASE_URL/api/v1/emails" "${auth[@]}" "${json_post[@]}" \
  -d "{\"to\":[\"$SMOKE_TO\"],\"template\":\"welcome\",\"data\":$template_data,\"priority\":\"high\",\"tags\":[\"smoke-test\"]}"
template_id="$(json 'j.id')"
if [ "$STATUS" = 202 ] && [ -n "$template_id" ]; then
  pass "templated email (welcome, high priority): 202"
else
  fail "templated email (welcome, high priority): 202" "got $STATUS: $(body)"
fi

request POST "$BASE_URL/api/v1/emails" "${auth[@]}" "${json_post[@]}" -d '{"to":["not-an-address"],"subject":"x","text":"x"}'
if [ "$STATUS" = 400 ] && header content-type | grep -q 'application/problem+json' && [ "$(json 'j.errors[0].field')" = 'to[0]' ]; then
  pass "invalid body: 400 problem+json naming the field"
else
  fail "invalid body: 400 problem+json naming the field" "got $STATUS ($(header content-type)): $(body)"
fi

send_at="$(node -e 'process.stdout.write(new Date(Date.now() + 3600e3).toISOString())')"
request POST "$BASE_URL/api/v1/emails" "${auth[@]}" "${json_post[@]}" \
  -d "{\"to\":[\"$SMOKE_TO\"],\"subject\":\"$subject (scheduled, cancelled by the test)\",\"text\":\"x\",\"sendAt\":\"$send_at\"}"
scheduled_id="$(json 'j.id')"
if [ "$STATUS" = 202 ] && [ "$(json 'j.status')" = scheduled ]; then
  pass "scheduled email (sendAt in an hour): 202 scheduled"
else
  fail "scheduled email (sendAt in an hour): 202 scheduled" "got $STATUS: $(body)"
fi

# --- 4. Delivery --------------------------------------------------------------------------------------------
level "4. Delivery"
[ -n "$inline_id" ] && wait_for_sent "inline email reaches sent" "$inline_id"
template_subject=""
if [ -n "$template_id" ]; then
  wait_for_sent "templated email reaches sent" "$template_id"
  template_subject="$(json 'j.subject')"
fi
catcher_ids=()
if [ -n "$MAILCATCHER_URL" ]; then
  # MailDev 3 serves its API under /api (GET /api/email); MailDev 2 (the maildev/maildev image) at /email.
  catcher_api="$MAILCATCHER_URL/email"
  request GET "$MAILCATCHER_URL/api/email"
  [ "$STATUS" = 200 ] && [ "$(json 'Array.isArray(j)')" = true ] && catcher_api="$MAILCATCHER_URL/api/email"
  kinds=(inline templated)
  ids=("$inline_id" "$template_id")
  subjects=("$subject" "$template_subject")
  for i in 0 1; do
    kind="${kinds[$i]}"
    id="${ids[$i]}"
    want_subject="${subjects[$i]}"
    [ -n "$id" ] || continue
    found=""
    deadline=$((SECONDS + SMOKE_TIMEOUT))
    while [ "$SECONDS" -le "$deadline" ]; do
      curl -sS --max-time 10 -o "$work/catcher" "$catcher_api" 2>/dev/null
      found="$(json "(j.find((m) => (m.headers || {})['x-email-id'] === '$id') || {}).id" "$work/catcher")"
      [ -n "$found" ] && break
      sleep 0.5
    done
    if [ -z "$found" ]; then
      fail "$kind email in the mail catcher" "no message with X-Email-Id $id after ${SMOKE_TIMEOUT}s at $catcher_api"
      continue
    fi
    catcher_ids+=("$found")
    got_subject="$(json "j.find((m) => m.id === '$found').subject" "$work/catcher")"
    if [ -n "$want_subject" ] && [ "$got_subject" = "$want_subject" ]; then
      pass "$kind email in the mail catcher: X-Email-Id and subject match"
    else
      fail "$kind email in the mail catcher" "subject '$got_subject', expected '$want_subject'"
    fi
  done
else
  skip "delivery in the mail catcher" "set MAILCATCHER_URL (MailDev's web address) to check what arrived"
fi

# --- 5. Audit trail -----------------------------------------------------------------------------------------
level "5. Audit trail"
if [ -n "$inline_id" ]; then
  request GET "$BASE_URL/api/v1/audit/$inline_id" "${auth[@]}"
  events="$(json 'j.items.map((e) => e.event).join(" ")')"
  in_order="$(json '((e) => e.indexOf("accepted") >= 0 && e.indexOf("attempt", e.indexOf("accepted")) > 0 &&
    e.indexOf("sent", e.indexOf("attempt", e.indexOf("accepted"))) > 0)(j.items.map((x) => x.event))')"
  if [ "$STATUS" = 200 ] && [ "$in_order" = true ]; then
    pass "audit trail: $events"
  else
    fail "audit trail: accepted, attempt, sent in order" "got $STATUS, events '$events'"
  fi
else
  fail "audit trail" "no email was accepted"
fi

# --- 6. Monitoring ------------------------------------------------------------------------------------------
level "6. Monitoring"
request GET "$BASE_URL/metrics" "${auth[@]}"
# Prometheus text: comments, blank lines, or `name{labels} value [timestamp]`.
bad_line="$(grep -vE '^(#.*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eEaInNf]+( [0-9]+)?)?$' "$work/body" | head -n 1)"
if [ "$STATUS" = 200 ] && [ -z "$bad_line" ] && grep -q '^# TYPE freeface_emails_sent_total counter' "$work/body"; then
  pass "api /metrics: Prometheus text with freeface_emails_sent_total"
else
  fail "api /metrics" "got $STATUS; bad line '${bad_line:0:120}' or no freeface_emails_sent_total"
fi
if [ -n "$WORKER_URL" ]; then
  workers_sent_total
  if [ -n "$WORKERS_REFUSED" ]; then
    skip "workers' freeface_emails_sent_total" "a worker's /metrics answered $WORKERS_REFUSED (it needs this token too, docs/METRICS.md)"
  elif [ $((SENT_TOTAL - sent_before)) -ge 2 ]; then
    pass "workers' freeface_emails_sent_total grew by this run's sends ($sent_before → $SENT_TOTAL)"
  else
    fail "workers' freeface_emails_sent_total" "went from $sent_before to $SENT_TOTAL, expected 2 more"
  fi
fi
if [ -n "$ADMIN_TOKEN" ]; then
  request GET "$BASE_URL/api/v1/queues" -H "Authorization: Bearer $ADMIN_TOKEN"
  if [ "$STATUS" = 200 ] && [ "$(json '["high","medium","low"].every((p) => typeof j.queues[p].waiting === "number")')" = true ]; then
    pass "GET /api/v1/queues (admin): $(json '["high","medium","low"].map((p) => p + " " + j.queues[p].waiting + " waiting").join(", ")')"
  else
    fail "GET /api/v1/queues (admin)" "got $STATUS: $(body)"
  fi
else
  skip "GET /api/v1/queues" "set ADMIN_TOKEN (a token with the admin scope)"
fi
if [ -n "$MONITOR_URL" ]; then
  request GET "$MONITOR_URL/"
  if [ "$STATUS" = 401 ]; then
    pass "dashboard: 401 without credentials"
  elif [ "$STATUS" = 200 ] && [ -z "$DASHBOARD_USER" ]; then
    skip "dashboard: 401 without credentials" "the dashboard is open (no DASHBOARD_USER: development only)"
  else
    fail "dashboard: 401 without credentials" "got $STATUS"
  fi
  if [ -n "$DASHBOARD_USER" ]; then
    request GET "$MONITOR_URL/api/overview" -u "$DASHBOARD_USER:$DASHBOARD_PASSWORD"
    expect_status "dashboard: 200 with DASHBOARD_USER" 200
  else
    skip "dashboard sign-in" "set DASHBOARD_USER and DASHBOARD_PASSWORD"
  fi
else
  skip "dashboard" "set MONITOR_URL"
fi

# --- 7. Cleanup ---------------------------------------------------------------------------------------------
level "7. Cleanup"
if [ -n "$scheduled_id" ]; then
  request DELETE "$BASE_URL/api/v1/emails/$scheduled_id" "${auth[@]}"
  if [ "$STATUS" = 200 ] && [ "$(json 'j.status')" = cancelled ]; then
    pass "cancel the scheduled email: 200 cancelled"
  else
    fail "cancel the scheduled email" "got $STATUS: $(body)"
  fi
  request GET "$BASE_URL/api/v1/emails/$scheduled_id" "${auth[@]}"
  if [ "$(json 'j.status')" = cancelled ]; then
    pass "its status is cancelled"
  else
    fail "its status is cancelled" "got $STATUS: $(body)"
  fi
else
  fail "cancel the scheduled email" "none was accepted"
fi
if [ -z "$MAILCATCHER_URL" ]; then
  skip "mail catcher cleanup" "no MAILCATCHER_URL"
elif [ "$SMOKE_CLEANUP_MAILCATCHER" != true ]; then
  skip "mail catcher cleanup" "SMOKE_CLEANUP_MAILCATCHER is not true"
else
  # Only this run's messages, by id: other people's caught mail stays.
  deleted=0
  for id in "${catcher_ids[@]}"; do
    request DELETE "$catcher_api/$id"
    [ "$STATUS" = 200 ] && deleted=$((deleted + 1))
  done
  if [ "$deleted" = "${#catcher_ids[@]}" ]; then
    pass "deleted this run's $deleted messages from the mail catcher"
  else
    fail "mail catcher cleanup" "deleted $deleted of ${#catcher_ids[@]} messages"
  fi
fi

printf '\nsmoke: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
