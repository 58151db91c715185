#!/usr/bin/env python3
"""Send one RFC 8030 push with pywebpush (aes128gcm + VAPID done by the library).

CLI (shared by all four interop senders, see ../selftest.py):
  --subscription FILE --vapid-public B64URL --vapid-private B64URL
  --subject mailto:... (--payload TEXT | --payload-size N)
  [--ttl N] [--urgency U] [--topic T] [--ca PEM]

Prints one JSON line {"status", "location", "ttl", "retry_after", "body"} and
exits 0 whenever an HTTP response came back (non-2xx included); exits 1 with
the error on stderr when none did.

pywebpush derives the VAPID public key it sends (k=) from the private key;
--vapid-public is only checked against it.
"""
import argparse
import base64
import json
import os
import sys

import requests
from cryptography.hazmat.primitives import serialization
from pywebpush import WebPushException, webpush
from py_vapid import Vapid


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--subscription", required=True)
    p.add_argument("--vapid-public", required=True)
    p.add_argument("--vapid-private", required=True)
    p.add_argument("--subject", required=True)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--payload")
    g.add_argument("--payload-size", type=int)
    p.add_argument("--ttl", type=int, default=60)
    p.add_argument("--urgency", choices=["very-low", "low", "normal", "high"])
    p.add_argument("--topic")
    p.add_argument("--ca")
    return p.parse_args(argv)


def result_line(resp):
    h = resp.headers  # requests' headers are case-insensitive
    return json.dumps(
        {
            "status": int(resp.status_code),
            "location": h.get("Location"),
            "ttl": h.get("TTL"),
            "retry_after": h.get("Retry-After"),
            "body": resp.content.decode("utf-8", errors="replace"),
        }
    )


def main(argv):
    a = parse_args(argv)
    with open(a.subscription, encoding="utf-8") as f:
        sub = json.load(f)
    payload = a.payload if a.payload is not None else "x" * a.payload_size

    vapid = Vapid.from_string(private_key=a.vapid_private)
    derived = vapid.public_key.public_bytes(
        encoding=serialization.Encoding.X962,
        format=serialization.PublicFormat.UncompressedPoint,
    )
    if derived != b64url_decode(a.vapid_public):
        print("send.py: warning: --vapid-public does not match --vapid-private; "
              "pywebpush sends the key derived from the private key", file=sys.stderr)

    headers = {}
    if a.urgency:
        headers["Urgency"] = a.urgency
    if a.topic:
        headers["Topic"] = a.topic

    session = requests.Session()
    if a.ca:
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from the
        # environment override a session's verify=, so point them at the CA too.
        os.environ["REQUESTS_CA_BUNDLE"] = a.ca
        os.environ.pop("CURL_CA_BUNDLE", None)
        session.verify = a.ca

    try:
        resp = webpush(
            subscription_info=sub,
            data=payload,
            vapid_private_key=a.vapid_private,
            vapid_claims={"sub": a.subject},
            content_encoding="aes128gcm",
            ttl=a.ttl,
            headers=headers,
            timeout=30,
            requests_session=session,
        )
    except WebPushException as e:
        if e.response is None:
            print(f"send.py: {e}", file=sys.stderr)
            return 1
        resp = e.response
    except requests.RequestException as e:
        print(f"send.py: no HTTP response: {e!r}", file=sys.stderr)
        return 1
    print(result_line(resp), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
