"""The Python bindings of push_ffi against the real pushd.

Run by scripts/ffi-tests.sh, which generates the bindings from the built
library and sets PUSHD_BIN and PUSHCTL_BIN. A site backend is played by the
Rust sender (`pushctl send`).
"""

import base64
import os
import queue
import subprocess
import tempfile
import threading
import unittest

import push_ffi

SCOPE = "https://news.example"


class Pushd:
    """The real pushd on a free port with a temporary data folder."""

    def __init__(self, folder, *extra):
        self.process = subprocess.Popen(
            [os.environ["PUSHD_BIN"], "--listen", "127.0.0.1:0", "--metrics-listen", "off",
             "--data-dir", os.path.join(folder, "pushd-data"), "--log", "info", *extra],
            stderr=subprocess.PIPE, text=True)
        self.url = None
        for line in self.process.stderr:
            if "grpc_addr=" in line:
                self.url = "http://" + line.split("grpc_addr=")[1].split()[0]
                break
        if self.url is None:
            raise RuntimeError("pushd did not start")
        # Keep reading stderr so pushd never blocks on a full pipe.
        self.drain = threading.Thread(target=lambda: [None for _ in self.process.stderr])
        self.drain.start()

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.drain.join(5)
        self.process.stderr.close()


def pushctl(*args):
    done = subprocess.run([os.environ["PUSHCTL_BIN"], *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pushctl {args[0]} failed: {done.stderr}")
    return done.stdout


def grpc_stubs():
    """push.v1 stubs for grpcio, generated from the repository's proto."""
    import sys
    from grpc_tools import protoc
    stubs = tempfile.mkdtemp()
    proto = os.path.join(os.path.dirname(__file__), "..", "..", "..", "proto", "proto")
    protoc.main(["protoc", f"-I{proto}", f"--python_out={stubs}",
                 f"--grpc_python_out={stubs}", "push/v1/push.proto"])
    sys.path.insert(0, stubs)
    from push.v1 import push_pb2, push_pb2_grpc
    return push_pb2, push_pb2_grpc


def keystore_value(path, query):
    import sqlite3
    with sqlite3.connect(path) as db:
        return db.execute(query).fetchone()[0]


class Collector(push_ffi.PushListener):
    def __init__(self):
        self.messages = queue.Queue()
        self.stopped = queue.Queue()

    def on_message(self, message):
        self.messages.put(message)

    def on_stopped(self, reason):
        self.stopped.put(reason)


class PushManagerTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp()
        self.pushd = Pushd(self.folder)
        self.manager = push_ffi.PushManager(
            self.pushd.url, os.path.join(self.folder, "keys.db"), push_ffi.BridgeKind.NONE())
        self.vapid = os.path.join(self.folder, "vapid.pem")
        pushctl("keygen", "--out", self.vapid)

    def tearDown(self):
        self.pushd.stop()

    def send(self, info, text):
        subscription = os.path.join(self.folder, "sub.json")
        with open(subscription, "w") as out:
            out.write(info.json)
        return pushctl("send", "--server", self.pushd.url, "--key", self.vapid,
                       "--subject", "mailto:ops@example.com", "--subscription", "@" + subscription,
                       text)

    def subscription_id(self, info):
        """The id the server and the keystore know a subscription by (the
        endpoint carries it sealed, not as is)."""
        return keystore_value(os.path.join(self.folder, "keys.db"),
                              f"SELECT id FROM subscriptions WHERE endpoint = '{info.endpoint}'")

    def test_subscribe_send_fetch_and_listen(self):
        info = self.manager.subscribe(SCOPE, None)
        self.assertTrue(info.endpoint.startswith(self.pushd.url + "/push/"))
        self.assertIn(info.p256dh, info.json)
        again = self.manager.subscribe(SCOPE, None)
        self.assertEqual(again.endpoint, info.endpoint, "one subscription per scope")
        self.assertEqual(self.manager.get_subscription(SCOPE), info)
        self.assertIsNone(self.manager.get_subscription("https://other.example"))

        self.assertIn("stored", self.send(info, "while away"))
        pending = self.manager.fetch_pending()
        self.assertEqual([(m.scope, bytes(m.payload)) for m in pending],
                         [(SCOPE, b"while away")])
        self.assertEqual(self.manager.fetch_pending(), [], "fetched once, acked")

        collector = Collector()
        handle = self.manager.listen(collector, push_ffi.Presence.ACTIVE)
        self.send(info, "live")
        message = collector.messages.get(timeout=10)
        self.assertEqual((message.scope, bytes(message.payload)), (SCOPE, b"live"))
        handle.stop()
        self.assertEqual(collector.stopped.get(timeout=10), "stopped")

        self.assertTrue(self.manager.unsubscribe(SCOPE))
        self.assertFalse(self.manager.unsubscribe(SCOPE))
        self.assertIsNone(self.manager.get_subscription(SCOPE))
        self.assertEqual(self.manager.verify_connection(), [])

    def test_a_new_sender_key_replaces_the_subscription(self):
        first = self.manager.subscribe(SCOPE, None)
        printed = pushctl("keygen", "--out", os.path.join(self.folder, "other.pem")).split()[-1]
        key = base64.urlsafe_b64decode(printed + "=" * (-len(printed) % 4))
        pinned = self.manager.subscribe(SCOPE, key)
        self.assertNotEqual(pinned.endpoint, first.endpoint)
        self.assertEqual(self.manager.subscribe(SCOPE, key).endpoint, pinned.endpoint)

    def test_verify_connection_reports_what_the_server_lost(self):
        kept = self.manager.subscribe("https://kept.example", None)
        lost = self.manager.subscribe(SCOPE, None)
        # Another client of the same device removes one subscription on the
        # server only (grpcio, with the credential from the keystore).
        import grpc
        push_pb2, push_pb2_grpc = grpc_stubs()
        credential = keystore_value(os.path.join(self.folder, "keys.db"),
                                    "SELECT credential FROM device")
        with grpc.insecure_channel(self.pushd.url.removeprefix("http://")) as channel:
            device = push_pb2_grpc.DeviceStub(channel)
            device.Unsubscribe(
                push_pb2.UnsubscribeRequest(subscription_id=self.subscription_id(lost)),
                metadata=[("authorization", f"Bearer {credential}")])
        self.assertEqual(self.manager.verify_connection(), [SCOPE])
        self.assertIsNone(self.manager.get_subscription(SCOPE))
        self.assertEqual(self.manager.get_subscription("https://kept.example"), kept)
        self.assertEqual(self.manager.verify_connection(), [])

    def test_decrypt_opens_bridged_notifications_both_ways(self):
        import json
        import uuid
        import http_ece
        info = self.manager.subscribe(SCOPE, None)
        subscription_id = self.subscription_id(info)

        # A wake-up names only the message: the SDK fetches it, then acks it.
        sent = json.loads(self.send(info, "fetched after a wake-up"))
        wake_up = {"v": "1", "id": sent["message_id"], "sub": subscription_id, "fetch": "1"}
        opened = self.manager.decrypt(wake_up)
        self.assertEqual((opened.scope, bytes(opened.payload)), (SCOPE, b"fetched after a wake-up"))
        self.assertIsNone(self.manager.decrypt(wake_up), "shown once")
        self.assertEqual(self.manager.fetch_pending(), [], "acked on the server")

        # A full notification carries the ciphertext (made here by http_ece,
        # as any RFC 8291 sender would).
        unb64 = lambda text: base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        from cryptography.hazmat.primitives.asymmetric import ec
        ciphertext = http_ece.encrypt(
            b"inside the notification", private_key=ec.generate_private_key(ec.SECP256R1()),
            dh=unb64(info.p256dh), auth_secret=unb64(info.auth), version="aes128gcm")
        full = {"v": "1", "id": str(uuid.uuid4()), "sub": subscription_id,
                "enc": base64.urlsafe_b64encode(ciphertext).rstrip(b"=").decode()}
        opened = self.manager.decrypt(full)
        self.assertEqual(bytes(opened.payload), b"inside the notification")
        self.assertEqual(opened.scope, SCOPE)

    def test_an_account_subscription_reaches_every_approved_device(self):
        import json
        import grpc
        import http_ece
        from cryptography.hazmat.primitives.asymmetric import ec
        laptop_db = os.path.join(self.folder, "laptop.db")
        laptop = push_ffi.PushManager(self.pushd.url, laptop_db, push_ffi.BridgeKind.NONE())
        tablet = push_ffi.PushManager(
            self.pushd.url, os.path.join(self.folder, "tablet.db"), push_ffi.BridgeKind.NONE())
        account = self.manager.create_account("Phone")
        self.assertEqual(self.manager.account_id(), account)
        laptop.join_account(account, "Laptop")
        tablet.join_account(account, "Tablet")
        self.assertFalse(laptop.sync_account_keys().approved)
        with self.assertRaises(push_ffi.PushError.Unauthorized):
            laptop.account_devices()  # pending: not yet
        waiting = [d for d in self.manager.account_devices() if not d.approved]
        self.assertEqual(len(waiting), 2)
        chosen = next(d for d in waiting if d.fingerprint == laptop.device_fingerprint())
        self.assertEqual(chosen.device_id, laptop.device_id())
        self.assertTrue(self.manager.approve_device(chosen.device_id).approved)

        info = self.manager.subscribe_for_account(SCOPE, None)
        self.assertEqual(laptop.sync_account_keys(),
                         push_ffi.AccountSync(approved=True, added_scopes=[SCOPE]))
        self.assertEqual(laptop.get_subscription(SCOPE), info, "same endpoint and keys")
        self.assertEqual(json.loads(self.send(info, "to every device"))["devices"], 2)
        for device in (self.manager, laptop):
            self.assertEqual([(m.scope, bytes(m.payload)) for m in device.fetch_pending()],
                             [(SCOPE, b"to every device")])
        self.assertEqual(tablet.fetch_pending(), [], "the unapproved tablet gets nothing")
        self.assertIsNone(tablet.get_subscription(SCOPE))

        # What the server relays is plain RFC 8291 to the laptop's own key:
        # http_ece opens it with that key, which never left the laptop's file.
        push_pb2, push_pb2_grpc = grpc_stubs()
        credential = keystore_value(laptop_db, "SELECT credential FROM device")
        device_key = keystore_value(laptop_db, "SELECT keys FROM device_key")
        private, auth = device_key[:32], device_key[32 + 65:]
        with grpc.insecure_channel(self.pushd.url.removeprefix("http://")) as channel:
            sealed = push_pb2_grpc.DeviceStub(channel).FetchSealedKeys(
                push_pb2.FetchSealedKeysRequest(),
                metadata=[("authorization", f"Bearer {credential}")]).keys
        self.assertEqual(len(sealed), 1)
        key = ec.derive_private_key(int.from_bytes(private, "big"), ec.SECP256R1())
        bundle = json.loads(http_ece.decrypt(sealed[0].sealed, private_key=key,
                                             auth_secret=auth, version="aes128gcm"))
        self.assertEqual((bundle["endpoint"], bundle["scope"]), (info.endpoint, SCOPE))

        self.manager.remove_device(laptop.device_id())
        with self.assertRaises(push_ffi.PushError.Unauthorized):
            laptop.fetch_pending()

    def test_bad_input_raises_the_exported_error(self):
        with self.assertRaises(push_ffi.PushError.InvalidInput):
            self.manager.subscribe("", None)
        with self.assertRaises(push_ffi.PushError.InvalidInput):
            self.manager.update_bridge_token("token")
        with self.assertRaises(push_ffi.PushError):
            self.manager.decrypt({"v": "1"})
        with self.assertRaises(push_ffi.PushError.InvalidInput):
            self.manager.account_devices()  # no account yet


class StandInIdentityProvider:
    """An OpenID Connect provider on loopback: an RSA key published as JWKS,
    and RS256 ID tokens signed with it (written here; no provider can be
    reached from the tests)."""

    AUDIENCE = "pushd-python-test"

    def __init__(self):
        import http.server
        import json
        from cryptography.hazmat.primitives.asymmetric import rsa
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self.key.public_key().public_numbers()
        as_b64 = lambda number: b64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))
        jwks = json.dumps({"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "k1",
                                     "n": as_b64(numbers.n), "e": as_b64(numbers.e)}]}).encode()

        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            # pushd finds the keys through the discovery document, as with a real provider.
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = json.dumps({"issuer": provider.issuer,
                                       "jwks_uri": provider.issuer + "/keys"}).encode()
                elif self.path == "/keys":
                    body = jwks
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"

    def pushd_args(self):
        return ["--oidc-issuer", self.issuer, "--oidc-audience", self.AUDIENCE]

    def token(self, subject):
        import json
        import time
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        now = int(time.time())
        header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "k1"}).encode())
        claims = b64url(json.dumps({"iss": self.issuer, "aud": self.AUDIENCE, "sub": subject,
                                    "iat": now, "exp": now + 600}).encode())
        signed = f"{header}.{claims}".encode()
        signature = self.key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{claims}.{b64url(signature)}"

    def stop(self):
        self.server.shutdown()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SignedInUser(push_ffi.IdentityProvider):
    """The app's side: hands over the signed-in user's ID token, or fails."""

    def __init__(self, token):
        self.current = token

    def id_token(self):
        if self.current is None:
            raise push_ffi.PushError.Unauthorized("nobody is signed in")
        return self.current


class IdentityProviderTest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp()
        self.idp = StandInIdentityProvider()
        self.pushd = Pushd(self.folder, *self.idp.pushd_args())
        self.vapid = os.path.join(self.folder, "vapid.pem")
        pushctl("keygen", "--out", self.vapid)

    def tearDown(self):
        self.pushd.stop()
        self.idp.stop()

    def test_a_device_signed_in_with_the_apps_identity_provider(self):
        user = SignedInUser(self.idp.token("alice"))
        manager = push_ffi.PushManager.with_identity(
            self.pushd.url, os.path.join(self.folder, "keys.db"), push_ffi.BridgeKind.NONE(), user)
        info = manager.subscribe(SCOPE, None)
        subscription = os.path.join(self.folder, "sub.json")
        with open(subscription, "w") as out:
            out.write(info.json)
        pushctl("send", "--server", self.pushd.url, "--key", self.vapid,
                "--subject", "mailto:ops@example.com", "--subscription", "@" + subscription,
                "for alice")
        self.assertEqual([(m.scope, bytes(m.payload)) for m in manager.fetch_pending()],
                         [(SCOPE, b"for alice")])
        user.current = self.idp.token("bob")
        with self.assertRaises(push_ffi.PushError.Unauthorized):
            manager.fetch_pending()  # bob's token does not open alice's device
        user.current = None
        with self.assertRaises(push_ffi.PushError.Unauthorized):
            manager.fetch_pending()  # signed out


if __name__ == "__main__":
    unittest.main(verbosity=2)
