#!/usr/bin/env python3
"""Verify a FreeFace webhook (Standard Webhooks signature). Python 3.8+, standard library only.

    FREEFACE_WEBHOOK_SECRET=whsec_... python3 docs/examples/verify_webhook.py \\
        <webhook-id> <webhook-timestamp> <webhook-signature> < body.json

Exit status: 0 when the signature is good and the timestamp within five minutes of now; 1 otherwise;
2 for a usage error. In a receiver, call verify() with the three headers and the raw body bytes, before
parsing the JSON, and drop an event whose webhook-id you have already handled. See docs/WEBHOOKS.md.
"""

import base64
import hashlib
import hmac
import os
import sys
import time

TOLERANCE_SECONDS = 5 * 60


def verify(secret, webhook_id, webhook_timestamp, webhook_signature, body, now=None):
    """True when one of the signatures is ours over "<id>.<timestamp>.<body>" and the timestamp is recent."""
    now = time.time() if now is None else now
    try:
        if abs(now - int(webhook_timestamp)) > TOLERANCE_SECONDS:
            return False  # a replay of an old delivery
    except ValueError:
        return False
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    signed = webhook_id.encode() + b"." + webhook_timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # The header may carry several signatures (space-separated) while a secret is being rotated.
    for candidate in webhook_signature.split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False


def main():
    secret = os.environ.get("FREEFACE_WEBHOOK_SECRET", "")
    if not secret or len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    body = sys.stdin.buffer.read()
    if verify(secret, sys.argv[1], sys.argv[2], sys.argv[3], body):
        print("valid")
        return 0
    print("invalid signature or stale timestamp", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
