#!/usr/bin/env bash
# Verify a FreeFace webhook (Standard Webhooks signature) in a shell. Needs bash, openssl and base64.
#
#   FREEFACE_WEBHOOK_SECRET=whsec_... bash docs/examples/verify-webhook.sh \
#       <webhook-id> <webhook-timestamp> <webhook-signature> < body.json
#
# Exit status: 0 when the signature is good and the timestamp within five minutes of now; 1 otherwise;
# 2 for a usage error. The body must be the exact bytes received. See docs/WEBHOOKS.md.
set -uo pipefail

SECRET="${FREEFACE_WEBHOOK_SECRET:-}"
if [ -z "$SECRET" ] || [ "$#" -ne 3 ]; then
  echo "usage: FREEFACE_WEBHOOK_SECRET=whsec_... bash verify-webhook.sh <id> <timestamp> <signature> < body" >&2
  exit 2
fi
ID="$1" TIMESTAMP="$2" SIGNATURES="$3"

now=$(date +%s)
if ! [[ "$TIMESTAMP" =~ ^[0-9]+$ ]] || [ $((now - TIMESTAMP)) -gt 300 ] || [ $((TIMESTAMP - now)) -gt 300 ]; then
  echo "invalid signature or stale timestamp" >&2
  exit 1
fi

# The HMAC key is the secret's bytes: base64-decode what follows whsec_, and hand them to openssl as hex.
key_hex=$(printf '%s' "${SECRET#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
expected=$( { printf '%s.%s.' "$ID" "$TIMESTAMP"; cat; } |
  openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key_hex" -binary | base64)

# The header may carry several signatures (space-separated) while a secret is being rotated. (A shell string
# comparison is not constant-time: good for checking by hand; a receiver should use the Python or Node recipe.)
for candidate in $SIGNATURES; do
  if [ "$candidate" = "v1,$expected" ]; then
    echo "valid"
    exit 0
  fi
done
echo "invalid signature or stale timestamp" >&2
exit 1
