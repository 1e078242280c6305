#!/usr/bin/env python3
"""Send one email through FreeFace and wait until it is sent. Python 3.8+, standard library only.

    FREEFACE_URL=http://localhost:3000 FREEFACE_TOKEN=st_dev_... python3 docs/examples/send_email.py

Environment: FREEFACE_URL (default http://localhost:3000), FREEFACE_TOKEN (required; scopes send and read),
FREEFACE_TO (the recipient, default ana@example.com), FREEFACE_TIMEOUT (seconds to wait for "sent", default 60).
Exit status: 0 once the email is sent; 1 when it is refused, fails or is not sent in time; 2 for a usage error.
See docs/INTEGRATION.md.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

BASE_URL = os.environ.get("FREEFACE_URL", "http://localhost:3000").rstrip("/")
TOKEN = os.environ.get("FREEFACE_TOKEN", "")
TO = os.environ.get("FREEFACE_TO", "ana@example.com")
TIMEOUT_SECONDS = float(os.environ.get("FREEFACE_TIMEOUT", "60"))

# Answers worth one more try after Retry-After: rate limited (429), Redis unreachable for a moment (503), and a
# 409 that carries Retry-After (the first request with this Idempotency-Key is still running).
RETRYABLE = {429, 503}


def should_retry(status, headers):
    return status in RETRYABLE or (status == 409 and headers.get("Retry-After") is not None)
# Statuses after which an email will never be sent.
NOT_SENT = {"dead", "cancelled", "suppressed", "bounced", "complained"}


def call(method, path, body=None, headers=None):
    """One HTTP call: (status, headers, JSON body or None). An error status is returned, not raised."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    all_headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
    if data is not None:
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    request = urllib.request.Request(BASE_URL + path, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, parse_json(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, parse_json(error.read())


def parse_json(raw):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def retry_after_seconds(headers):
    """Retry-After in seconds (FreeFace sends whole seconds), kept between 1 and 60."""
    value = (headers.get("Retry-After") or "").strip()
    return min(max(int(value), 1), 60) if value.isdigit() else 1


def print_problem(status, problem):
    """An application/problem+json error: what went wrong, per field, and the request id for the logs."""
    problem = problem if isinstance(problem, dict) else {}
    print(f"HTTP {status} {problem.get('title', '')}: {problem.get('detail', '')}", file=sys.stderr)
    for error in problem.get("errors") or []:
        print(f"  {error.get('field')}: {error.get('message')}", file=sys.stderr)
    if problem.get("requestId"):
        print(f"  requestId {problem['requestId']}", file=sys.stderr)


def send(email):
    """POST the email; returns its id, or None when it was refused. Retries once on 429/503 (Retry-After) or no answer."""
    # The same key on the retry: if the first request did get through, the retry gets its answer back
    # (Idempotent-Replayed: true) instead of sending a second email.
    key = str(uuid.uuid4())
    for attempt in (1, 2):
        try:
            status, headers, body = call("POST", "/api/v1/emails", email, {"Idempotency-Key": key})
        except OSError as error:  # no answer at all: connection refused, timeout
            if attempt == 2:
                print(f"no answer from {BASE_URL}: {error}", file=sys.stderr)
                return None
            print(f"no answer ({error}); retrying once in 1s with the same Idempotency-Key {key}")
            time.sleep(1)
            continue
        if status == 202:
            replayed = " (replayed)" if headers.get("Idempotent-Replayed") == "true" else ""
            print(f"accepted{replayed}: id {body['id']}, status {body['status']}, Location {headers.get('Location')}")
            return body["id"]
        if should_retry(status, headers) and attempt == 1:
            wait = retry_after_seconds(headers)
            print(f"HTTP {status}: retrying once in {wait}s (Retry-After) with the same Idempotency-Key {key}")
            time.sleep(wait)
            continue
        print_problem(status, body)
        return None
    return None


def wait_until_sent(email_id):
    """Polls GET /api/v1/emails/{id} until the email is sent (True), cannot be sent, or time runs out (False)."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    last = None
    while time.monotonic() < deadline:
        try:
            status, headers, body = call("GET", f"/api/v1/emails/{email_id}")
        except OSError as error:
            print(f"no answer ({error}); asking again")
            time.sleep(1)
            continue
        if status in RETRYABLE:
            time.sleep(retry_after_seconds(headers))
            continue
        if status != 200:
            print_problem(status, body)
            return False
        if body["status"] != last:
            last = body["status"]
            print(f"status: {last}")
        if last in ("sent", "delivered"):
            print(f"sent through {body['provider']} after {body['attempts']} attempt(s), Message-ID {body['providerMessageId']}")
            return True
        if last in NOT_SENT:
            print(f"not sent ({last}): {body.get('lastError')}", file=sys.stderr)
            return False
        time.sleep(1)
    print(f"still {last} after {TIMEOUT_SECONDS:g}s", file=sys.stderr)
    return False


def main():
    if not TOKEN:
        print("set FREEFACE_TOKEN to a service token (scopes send and read)", file=sys.stderr)
        return 2
    email = {
        "to": [TO],
        "subject": "Hello from Python",
        "text": "Sent with docs/examples/send_email.py.",
        "tags": ["example"],
        "metadata": {"example": "python"},
    }
    print(f"sending to {TO} through {BASE_URL}")
    email_id = send(email)
    if email_id is None:
        return 1
    return 0 if wait_until_sent(email_id) else 1


if __name__ == "__main__":
    sys.exit(main())
