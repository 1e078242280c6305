#!/usr/bin/env python3
"""Send one email through FreeFace's SMTP ingress and wait until it is sent. Python 3.8+, standard library only.

    FREEFACE_SMTP=localhost:2525 FREEFACE_SERVICE=billing-api FREEFACE_TOKEN=st_dev_... \\
        FREEFACE_URL=http://localhost:3000 python3 docs/examples/send_smtp.py

Environment: FREEFACE_SMTP (host:port of the ingress, default localhost:2525), FREEFACE_SERVICE (the service's
name: the SMTP user), FREEFACE_TOKEN (its token: the SMTP password; scopes send, and read to follow the email),
FREEFACE_URL (the REST API, to follow the email; unset: stop at "queued"), FREEFACE_TO (default
ana@example.com), FREEFACE_TIMEOUT (seconds to wait for "sent", default 60).
STARTTLS is used whenever the server offers it, and required unless the server is on this machine.
Exit status: 0 once queued (and sent, with FREEFACE_URL); 1 when refused or not sent in time; 2 for a usage
error. See docs/SMTP-INGRESS.md.
"""

import json
import os
import re
import smtplib
import ssl
import sys
import time
import urllib.error
import urllib.request
from email.message import EmailMessage

SMTP = os.environ.get("FREEFACE_SMTP", "localhost:2525")
SERVICE = os.environ.get("FREEFACE_SERVICE", "")
TOKEN = os.environ.get("FREEFACE_TOKEN", "")
BASE_URL = os.environ.get("FREEFACE_URL", "").rstrip("/")
TO = os.environ.get("FREEFACE_TO", "ana@example.com")
TIMEOUT_SECONDS = float(os.environ.get("FREEFACE_TIMEOUT", "60"))


class QueuedReply(smtplib.SMTP):
    """smtplib.SMTP that keeps the reply to DATA, where FreeFace names the email."""

    def data(self, msg):
        code, reply = super().data(msg)
        self.queued_reply = reply.decode()
        return code, reply


def send_and_get_id():
    host, _, port = SMTP.rpartition(":")
    message = EmailMessage()
    message["From"] = "FreeFace example <noreply@example.com>"
    message["To"] = TO
    message["Subject"] = "Hello from the SMTP example"
    message["X-Priority-Lane"] = "high"
    message.set_content("Sent through FreeFace's SMTP ingress with a service token.")
    with QueuedReply(host, int(port), timeout=30) as client:
        client.ehlo()
        if client.has_extn("starttls"):
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        elif host not in ("localhost", "127.0.0.1", "::1"):
            raise SystemExit("the server offers no STARTTLS: refusing to send the token in clear")
        client.login(SERVICE, TOKEN)
        client.send_message(message)
        match = re.search(r"queued as ([0-9a-f-]{36})", client.queued_reply)
        if not match:
            raise SystemExit("unexpected reply to DATA: " + client.queued_reply)
        return match.group(1)


def wait_until_sent(email_id):
    deadline = time.time() + TIMEOUT_SECONDS
    while time.time() < deadline:
        request = urllib.request.Request(
            BASE_URL + "/api/v1/emails/" + email_id, headers={"Authorization": "Bearer " + TOKEN}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status = json.load(response)["status"]
        except urllib.error.HTTPError as error:
            if error.code not in (429, 503):
                raise
            time.sleep(float(error.headers.get("Retry-After", "1")))
            continue
        if status == "sent":
            return True
        if status in ("dead", "cancelled", "suppressed"):
            print("email " + email_id + " is " + status, file=sys.stderr)
            return False
        time.sleep(0.5)
    print("email " + email_id + " not sent within " + str(TIMEOUT_SECONDS) + "s", file=sys.stderr)
    return False


def main():
    if not SERVICE or not TOKEN:
        print("set FREEFACE_SERVICE (the service name) and FREEFACE_TOKEN (its token)", file=sys.stderr)
        return 2
    try:
        email_id = send_and_get_id()
    except smtplib.SMTPResponseException as error:
        print("refused: " + str(error.smtp_code) + " " + error.smtp_error.decode(), file=sys.stderr)
        return 1
    print("queued as " + email_id)
    if BASE_URL and not wait_until_sent(email_id):
        return 1
    if BASE_URL:
        print("sent: " + email_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
