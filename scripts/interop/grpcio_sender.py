"""A site backend we did not write: Python grpcio + http_ece + cryptography.

Encrypts a message for a subscription (RFC 8291 via http_ece), signs a VAPID
token (RFC 8292, ES256 via cryptography), and calls SubmitMessage on pushd.
Then checks that pushd answers bad input with the documented status codes.

usage: grpcio_sender.py PROTO_DIR HOST:PORT SUBSCRIPTION_JSON MESSAGE
Prints the SubmitMessage response as one JSON line; exits non-zero on any surprise.
"""

import base64
import json
import os
import sys
import tempfile
import time

import grpc
import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from grpc_tools import protoc


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_stubs(proto_dir: str):
    out = tempfile.mkdtemp(prefix="push-stubs-")
    args = ["protoc", f"-I{proto_dir}", f"--python_out={out}", f"--grpc_python_out={out}", "push/v1/push.proto"]
    if protoc.main(args) != 0:
        sys.exit("protoc failed to compile push.proto")
    sys.path.insert(0, out)
    from push.v1 import push_pb2, push_pb2_grpc  # noqa: E402

    return push_pb2, push_pb2_grpc


def vapid_header(endpoint: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    scheme, rest = endpoint.split("://", 1)
    audience = f"{scheme}://{rest.split('/', 1)[0]}"
    header = b64url(json.dumps({"typ": "JWT", "alg": "ES256"}).encode())
    claims = b64url(json.dumps({"aud": audience, "exp": int(time.time()) + 3600, "sub": "mailto:interop@example.com"}).encode())
    signing_input = f"{header}.{claims}".encode()
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"vapid t={header}.{claims}.{b64url(signature)}, k={b64url(public)}"


def main() -> None:
    proto_dir, address, subscription_json, message = sys.argv[1:5]
    push_pb2, push_pb2_grpc = load_stubs(proto_dir)
    subscription = json.loads(subscription_json)
    body = http_ece.encrypt(
        message.encode(),
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=unb64url(subscription["keys"]["p256dh"]),
        auth_secret=unb64url(subscription["keys"]["auth"]),
        version="aes128gcm",
    )
    stub = push_pb2_grpc.SenderStub(grpc.insecure_channel(address))
    metadata = [("authorization", vapid_header(subscription["endpoint"]))]
    request = push_pb2.SubmitMessageRequest(
        endpoint=subscription["endpoint"], payload=body, ttl_seconds=300, urgency=push_pb2.URGENCY_HIGH
    )
    response = stub.SubmitMessage(request, metadata=metadata, timeout=10)

    expectations = [
        ("no VAPID", request, [], grpc.StatusCode.UNAUTHENTICATED),
        ("not aes128gcm", push_pb2.SubmitMessageRequest(endpoint=subscription["endpoint"], payload=b"hello", ttl_seconds=60), metadata, grpc.StatusCode.INVALID_ARGUMENT),
        ("unknown endpoint", push_pb2.SubmitMessageRequest(endpoint="A" * 22, payload=body, ttl_seconds=60), metadata, grpc.StatusCode.NOT_FOUND),
    ]
    for name, bad_request, bad_metadata, expected in expectations:
        try:
            stub.SubmitMessage(bad_request, metadata=bad_metadata, timeout=10)
            sys.exit(f"{name}: pushd accepted it")
        except grpc.RpcError as error:
            if error.code() != expected or not error.details():
                sys.exit(f"{name}: expected {expected} with a message, got {error.code()} {error.details()!r}")
    print(json.dumps({"message_id": response.message_id, "outcome": push_pb2.Outcome.Name(response.outcome)}))


if __name__ == "__main__":
    main()
