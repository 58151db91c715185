#!/usr/bin/env python3
"""A real, unmodified Firefox ESR against pushd's WebSocket push protocol.

Starts pushd, a local web server (a page, its service worker, and the reports
they POST) and headless Firefox on a throw-away profile whose
dom.push.serverURL is pushd. The page subscribes with a VAPID key made here;
pywebpush sends to the endpoint Firefox got; the service worker's push
handler reports the decrypted text, which must be exactly what was sent.
Then: Firefox stopped, a message sent (201, stored), Firefox started again on
the same profile, the message arrives; the page unsubscribes and a send to
the old endpoint gets 410.

Every other request Firefox makes goes to a dead proxy on loopback, which
counts them; nothing leaves 127.0.0.1.

usage: firefox_e2e.py BIN_DIR [--firefox firefox-esr] [--push-url URL] [--keep]
(--push-url overrides dom.push.serverURL, to see the test fail.)
"""
import argparse
import base64
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

HERE = os.path.dirname(os.path.abspath(__file__))
STEP_SECONDS = 60  # the longest any single wait may take
SUBJECT = "mailto:firefox-test@example.com"


class Failure(Exception):
    pass


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Reports:
    """What the page and the service worker POST, per kind, in order."""

    def __init__(self):
        self.queues = {}
        self.lock = threading.Lock()
        self.command = ""
        self.log = []

    def queue(self, kind):
        with self.lock:
            return self.queues.setdefault(kind, queue.Queue())

    def put(self, kind, value):
        self.log.append((round(time.monotonic(), 3), kind, value))
        self.queue(kind).put(value)

    def wait(self, kind, what, seconds=STEP_SECONDS):
        errors = self.queue("error")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not errors.empty():
                raise Failure(f"the page failed while waiting for {what}: {errors.get()}")
            try:
                return self.queue(kind).get(timeout=0.1)
            except queue.Empty:
                pass
        raise Failure(f"no {what} within {seconds} s")


def web_server(reports, config):
    files = {
        "/page.html": ("text/html", "page.html"),
        "/sw.js": ("text/javascript", "sw.js"),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path in files:
                kind, name = files[self.path]
                with open(os.path.join(HERE, name), "rb") as f:
                    self.reply(200, kind, f.read())
            elif self.path == "/config":
                self.reply(200, "application/json", json.dumps(config).encode())
            elif self.path == "/command":
                self.reply(200, "text/plain", reports.command.encode())
            else:
                self.reply(404, "text/plain", b"not found")

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if not self.path.startswith("/report/"):
                return self.reply(404, "text/plain", b"not found")
            try:
                value = json.loads(body)
            except ValueError:
                value = body.decode(errors="replace")
            reports.put(self.path[len("/report/"):], value)
            self.reply(204, "text/plain", b"")

        def reply(self, status, kind, body):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class DeadProxy:
    """Listens where Firefox's proxy is said to be, notes each request's first
    line and closes it: requests to anywhere but loopback end here."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.requests = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    first = connection.recv(512).split(b"\r\n", 1)[0]
                except OSError:
                    first = b"(nothing)"
                self.requests.append(first.decode(errors="replace"))

    def close(self):
        self.listener.close()


def user_js(push_url, proxy_port):
    prefs = {
        # The push service, pointed at pushd over plain ws:// on loopback.
        "dom.push.serverURL": push_url,
        "dom.push.testing.allowInsecureServerURL": True,
        "dom.push.connection.enabled": True,
        "dom.push.enabled": True,
        "dom.push.loglevel": "Debug",
        "devtools.console.stdout.chrome": True,
        "browser.dom.window.dump.enabled": True,
        "permissions.default.desktop-notification": 1,
        "dom.serviceWorkers.enabled": True,
        "dom.serviceWorkers.testing.enabled": True,
        "alerts.useSystemBackend": False,
        "network.manage-offline-status": False,
        # Nothing phones home.
        "toolkit.telemetry.enabled": False,
        "toolkit.telemetry.unified": False,
        "toolkit.telemetry.server": "http://127.0.0.1:1/",
        "datareporting.policy.dataSubmissionEnabled": False,
        "datareporting.healthreport.uploadEnabled": False,
        "datareporting.usage.uploadEnabled": False,
        # Glean: a negative port drops its pings instead of uploading them.
        "telemetry.fog.test.localhost_port": -1,
        "app.update.disabledForTesting": True,
        "app.update.auto": False,
        "app.normandy.enabled": False,
        "app.shield.optoutstudies.enabled": False,
        "browser.safebrowsing.malware.enabled": False,
        "browser.safebrowsing.phishing.enabled": False,
        "browser.safebrowsing.downloads.enabled": False,
        "browser.safebrowsing.blockedURIs.enabled": False,
        "browser.safebrowsing.provider.mozilla.updateURL": "",
        "browser.safebrowsing.provider.google4.updateURL": "",
        "services.settings.server": "http://127.0.0.1:1/",
        "extensions.update.enabled": False,
        "extensions.getAddons.cache.enabled": False,
        "extensions.systemAddon.update.enabled": False,
        "browser.shell.checkDefaultBrowser": False,
        "browser.startup.homepage_override.mstone": "ignore",
        "browser.aboutwelcome.enabled": False,
        "browser.newtabpage.enabled": False,
        "browser.newtabpage.activity-stream.feeds.system.topstories": False,
        "browser.newtabpage.activity-stream.feeds.snippets": False,
        "browser.topsites.contile.enabled": False,
        "browser.region.network.url": "",
        "browser.region.update.enabled": False,
        "browser.search.update": False,
        "captivedetect.canonicalURL": "",
        "network.captive-portal-service.enabled": False,
        "network.connectivity-service.enabled": False,
        "network.trr.mode": 5,
        "network.dns.disablePrefetch": True,
        "network.prefetch-next": False,
        "network.http.speculative-parallel-limit": 0,
        "media.gmp-manager.url": "",
        "media.gmp-gmpopenh264.enabled": False,
        "identity.fxaccounts.enabled": False,
        "browser.ping-centre.telemetry": False,
        "browser.sessionstore.resume_from_crash": False,
        # The thumbnail service would load the page again, in a container of
        # its own, and subscribe there.
        "browser.pagethumbnails.capturing_disabled": True,
        "browser.startup.page": 0,
        # Every other request goes to a proxy that is not there.
        "network.proxy.type": 1,
        "network.proxy.http": "127.0.0.1",
        "network.proxy.http_port": proxy_port,
        "network.proxy.ssl": "127.0.0.1",
        "network.proxy.ssl_port": proxy_port,
        "network.proxy.no_proxies_on": "127.0.0.1,localhost",
        "network.proxy.allow_hijacking_localhost": False,
    }
    return "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items())


class Firefox:
    """One run of headless Firefox on the profile; stdout is its push log."""

    def __init__(self, binary, profile, url, log_path):
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.start_offset = self.log.tell()
        env = dict(os.environ, MOZ_REMOTE_SETTINGS_DEVTOOLS="1", MOZ_CRASHREPORTER_DISABLE="1")
        self.process = subprocess.Popen(
            [binary, "--headless", "--no-remote", "--profile", profile, url],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

    def output(self):
        with open(self.log_path, "rb") as f:
            f.seek(self.start_offset)
            return f.read().decode(errors="replace")

    def wait_for(self, needle, what, seconds=STEP_SECONDS):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if needle in self.output():
                return
            if self.process.poll() is not None:
                raise Failure(f"Firefox exited ({self.process.returncode}) before {what}")
            time.sleep(0.1)
        raise Failure(f"no {what} within {seconds} s (Firefox's push log lacks {needle!r})")

    def stop(self):
        """SIGTERM (Firefox shuts down cleanly), SIGKILL if it lingers; the
        whole process group, content processes included."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.log.close()


def start_pushd(bin_dir, work):
    log_path = os.path.join(work, "pushd.log")
    ready_path = os.path.join(work, "ready.json")
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [
            os.path.join(bin_dir, "pushd"),
            "--listen", "127.0.0.1:0",
            "--metrics-listen", "off",
            "--data-dir", os.path.join(work, "data"),
            "--log", "info,pushd::websocket=debug",
            "--ready-file", ready_path,
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    log.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        # Written (renamed into place whole) once pushd serves.
        if os.path.exists(ready_path):
            with open(ready_path) as f:
                return process, json.load(f)["listen"]
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise Failure("pushd did not start")


def send(subscription, vapid, text):
    """pywebpush's answer: the HTTP status pushd gave."""
    try:
        response = webpush(
            subscription_info=subscription,
            data=text,
            vapid_private_key=vapid,
            vapid_claims={"sub": SUBJECT},
            ttl=600,
            timeout=10,
        )
        return response.status_code
    except WebPushException as error:
        if error.response is None:
            raise Failure(f"pywebpush got no answer: {error}")
        return error.response.status_code


def expect_push(reports, text, what):
    got = reports.wait("push", what)
    if got != text:
        raise Failure(f"{what}: the service worker got {got!r}, sent {text!r}")


def run(args, work, cleanup):
    pushd, address = start_pushd(args.bin_dir, work)
    cleanup.append(lambda: (pushd.kill(), pushd.wait()))
    push_url = args.push_url or f"ws://{address}/"

    vapid = Vapid()
    vapid.generate_keys()
    application_server_key = b64url(
        vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    reports = Reports()
    server = web_server(
        reports,
        {"application_server_key": application_server_key, "subscribe_ms": STEP_SECONDS * 1000},
    )
    cleanup.append(server.shutdown)
    proxy = DeadProxy()
    cleanup.append(proxy.close)

    profile = os.path.join(work, "profile")
    os.mkdir(profile)
    with open(os.path.join(profile, "user.js"), "w") as f:
        f.write(user_js(push_url, proxy.port))
    page = f"http://127.0.0.1:{server.server_address[1]}/page.html"
    firefox_log = os.path.join(work, "firefox.log")
    binary = shutil.which(args.firefox) or args.firefox
    timings = []
    began = time.monotonic()

    def mark(step):
        timings.append(f"{step} {time.monotonic() - began:.1f}s")

    def launch():
        firefox = Firefox(binary, profile, page, firefox_log)
        cleanup.append(firefox.stop)
        return firefox

    # 1. Subscribe, then a message while Firefox is connected.
    firefox = launch()
    firefox.wait_for("handleHelloReply", "hello answered by pushd")
    mark("hello")
    subscription = reports.wait("subscription", "subscription from the page")
    endpoint = subscription["endpoint"]
    if not endpoint.startswith(f"http://{address}/"):
        raise Failure(f"the endpoint {endpoint} is not pushd's")
    mark("subscribed")
    live = "Hello Firefox, from pywebpush via pushd"
    status = send(subscription, vapid, live)
    if status != 201:
        raise Failure(f"send to a connected Firefox: {status}, expected 201")
    expect_push(reports, live, "the live message")
    mark("live push")

    # 2. Firefox stopped: the message waits in pushd; started again on the
    # same profile, Firefox resumes its uaid and gets it.
    firefox.stop()
    cleanup.remove(firefox.stop)
    mark("firefox stopped")
    stored = "Sent while Firefox was not running"
    status = send(subscription, vapid, stored)
    if status != 201:
        raise Failure(f"send while Firefox was stopped: {status}, expected 201")
    firefox = launch()
    expect_push(reports, stored, "the message kept while Firefox was stopped")
    mark("stored push after restart")
    # Firefox dedupes repeats itself, so read its log: pushd must not send
    # the live message again, which Firefox acked.
    notifications = firefox.output().count('\\"messageType\\":\\"notification\\"')
    if notifications != 1:
        raise Failure(f"after the restart pushd sent {notifications} notifications, expected 1")
    again = reports.wait("subscription", "the subscription after the restart")
    if again["endpoint"] != endpoint:
        raise Failure(f"after the restart the endpoint is {again['endpoint']}, was {endpoint}")

    # 3. The page unsubscribes: the endpoint is gone for good.
    reports.command = "unsubscribe"
    if reports.wait("unsubscribed", "the page's unsubscribe") is not True:
        raise Failure("unsubscribe() resolved false")
    # Firefox resolves unsubscribe() before pushd answers its unregister:
    # wait for the answer in Firefox's push log, then send.
    firefox.wait_for("handleUnregisterReply()", "pushd's answer to the unregister")
    if '\\"messageType\\":\\"unregister\\",\\"status\\":200' not in firefox.output():
        raise Failure("pushd did not answer Firefox's unregister with status 200")
    status = send(subscription, vapid, "after unsubscribe")
    if status != 410:
        raise Failure(f"send after unsubscribe: {status}, expected 410")
    mark("410 after unsubscribe")
    firefox.stop()
    cleanup.remove(firefox.stop)

    extra = [kind for _, kind, _ in reports.log if kind == "push"]
    if len(extra) != 2:
        raise Failure(f"the service worker got {len(extra)} pushes, expected 2")
    # Requests for other hosts ended at the dead proxy; say which, if any.
    stopped = sorted(set(proxy.requests))
    print(
        "firefox: subscribe, live push, push kept across a restart, 410 after unsubscribe "
        f"passed ({', '.join(timings)}; {len(proxy.requests)} requests for other hosts "
        f"stopped at the dead proxy{': ' + ', '.join(stopped) if stopped else ''})"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bin_dir")
    parser.add_argument("--firefox", default="firefox-esr")
    parser.add_argument("--push-url")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="pushd-firefox-")
    cleanup = []
    try:
        run(args, work, cleanup)
    except Failure as failure:
        print(f"firefox: FAILED: {failure}", file=sys.stderr)
        for name in ("pushd.log", "firefox.log"):
            path = os.path.join(work, name)
            if os.path.exists(path):
                print(f"--- {name} (last 80 lines)", file=sys.stderr)
                with open(path, errors="replace") as f:
                    print("".join(f.readlines()[-80:]), file=sys.stderr)
        sys.exit(1)
    finally:
        for step in reversed(cleanup):
            try:
                step()
            except Exception:
                pass
        if args.keep:
            print(f"firefox: work folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
