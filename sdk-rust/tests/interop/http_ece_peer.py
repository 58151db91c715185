#!/usr/bin/env python3
"""A Web Push peer built on implementations we did not write (PyPI `http_ece` and
`cryptography`), driven by sdk-rust/tests/interop_python.rs.

Usage: http_ece_peer.py COMMAND, with one JSON object on stdin and one on stdout. All byte
strings are base64url without padding.

  check                                           -> {"http_ece": version, "cryptography": version}
  decrypt {"private_key", "auth", "body"}         -> {"plaintext"}
  encrypt {"p256dh", "auth", "plaintext"}         -> {"body"}
  verify-jwt {"jwt", "public_key"}                -> {"valid", "header", "claims"}

Exit status 3 means a dependency is missing.
"""
import base64
import json
import os
import sys

try:
    import cryptography
    import http_ece
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
except ImportError as missing:
    print(f"missing Python package: {missing}", file=sys.stderr)
    sys.exit(3)


def b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def check(_request):
    from importlib.metadata import version

    return {"http_ece": version("http_ece"), "cryptography": cryptography.__version__}


def decrypt(request):
    scalar = int.from_bytes(b64decode(request["private_key"]), "big")
    receiver = ec.derive_private_key(scalar, ec.SECP256R1())
    plaintext = http_ece.decrypt(
        b64decode(request["body"]),
        private_key=receiver,
        auth_secret=b64decode(request["auth"]),
        version="aes128gcm",
    )
    return {"plaintext": b64encode(plaintext)}


def encrypt(request):
    # A fresh ephemeral sender key and salt per message, as RFC 8291 requires.
    sender = ec.generate_private_key(ec.SECP256R1())
    body = http_ece.encrypt(
        b64decode(request["plaintext"]),
        salt=os.urandom(16),
        private_key=sender,
        dh=b64decode(request["p256dh"]),
        auth_secret=b64decode(request["auth"]),
        version="aes128gcm",
    )
    return {"body": b64encode(body)}


def verify_jwt(request):
    header_b64, claims_b64, signature_b64 = request["jwt"].split(".")
    signature = b64decode(signature_b64)
    if len(signature) != 64:
        return {"valid": False, "reason": f"signature is {len(signature)} bytes, not 64"}
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), b64decode(request["public_key"])
    )
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        public_key.verify(
            der, f"{header_b64}.{claims_b64}".encode("ascii"), ec.ECDSA(hashes.SHA256())
        )
        valid = True
    except InvalidSignature:
        valid = False
    return {
        "valid": valid,
        "header": json.loads(b64decode(header_b64)),
        "claims": json.loads(b64decode(claims_b64)),
    }


COMMANDS = {"check": check, "decrypt": decrypt, "encrypt": encrypt, "verify-jwt": verify_jwt}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    request = json.loads(sys.stdin.read() or "{}")
    json.dump(COMMANDS[sys.argv[1]](request), sys.stdout)
