#!/usr/bin/env bash
# `pushctl listen --notify` for real: a private D-Bus session bus, a notification
# service on it that records every Notify call (scripts/interop/notification_recorder.py),
# the real pushd, and pushctl as device and sender. Fails unless the service is shown
# exactly the two messages sent (a JSON {title, body} one and a plain text one), decrypted
# and escaped for its markup, `pushctl inbox` lists both newest first, and a listener
# whose bus is gone warns once and still prints and keeps what arrives.
#
# usage: scripts/desktop-notify.sh BIN_DIR PYTHON
set -euo pipefail

bin_dir=${1:?binary folder holding pushd and pushctl}
python=${2:-python3}
root=$(cd "$(dirname "$0")/.." && pwd)
harness=desktop-notify
# shellcheck source=lib/harness.sh
source "$root/scripts/lib/harness.sh"

# A session bus of our own, so the test neither needs nor disturbs a desktop's.
cat >"$work/bus.conf" <<EOF
<busconfig>
  <type>session</type>
  <listen>unix:path=$work/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <!-- As the stock session bus: everyone may talk to, hear from and own anything. -->
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
dbus-daemon --config-file="$work/bus.conf" --nofork --print-address >"$work/bus-address.log" 2>"$work/dbus.log" &
pids+=($!)
wait_for "$work/bus-address.log" "unix:" 1 || fail "dbus-daemon did not start"
export DBUS_SESSION_BUS_ADDRESS=$(head -1 "$work/bus-address.log")

"$python" "$root/scripts/interop/notification_recorder.py" "$work/shown.jsonl" >"$work/recorder.log" 2>&1 &
pids+=($!)
wait_for "$work/recorder.log" "^ready" 1 || fail "the notification recorder did not start"

start_pushd

ctl() { "$bin_dir/pushctl" "$@"; }
db="$work/device.db"
ctl register --db "$db" >"$work/register.log" || fail "register"
ctl subscribe --db "$db" >"$work/subscription.json" 2>"$work/subscribe.log" || fail "subscribe"
ctl keygen --out "$work/vapid.pem" >"$work/keygen.log" || fail "keygen"
send() {
    ctl send --key "$work/vapid.pem" --subject mailto:you@example.com \
        --subscription "@$work/subscription.json" "$1" >>"$work/send.log" || fail "send $1"
}

"$bin_dir/pushctl" listen --db "$db" --notify >"$work/listen.jsonl" 2>"$work/listen.log" &
listener=$!
pids+=($listener)
send '{"title":"Build finished","body":"main is green"}'
wait_for "$work/listen.jsonl" '"payload"' 1 || fail "the JSON message was not printed"
send 'Tea & cake <3'
wait_for "$work/listen.jsonl" '"payload"' 2 || fail "the text message was not printed"
wait_for "$work/shown.jsonl" '"summary"' 2 || fail "the notification service was not shown both messages"

"$python" - "$work/shown.jsonl" <<'EOF' || fail "the notifications shown are not the messages sent"
import json, sys
shown = [json.loads(line) for line in open(sys.argv[1])]
got = [(n["app_name"], n["summary"], n["body"]) for n in shown]
want = [
    ("pushctl", "Build finished", "main is green"),
    # Plain text under the default summary; the service renders markup, so it is escaped.
    ("pushctl", "pushd", "Tea &amp; cake &lt;3"),
]
assert got == want, f"shown {got}, want {want}"
EOF
echo "desktop-notify: the notification service was shown exactly the two messages, decrypted"

ctl inbox --db "$db" >"$work/inbox.log" || fail "inbox"
diff <(cut -c22- "$work/inbox.log") - >/dev/null <<'EOF' || fail "inbox text is not both messages, newest first"
pushd: Tea & cake <3
Build finished: main is green
EOF
ctl inbox --db "$db" --json --limit 1 >"$work/inbox-json.log" || fail "inbox --json"
grep -q '"payload":"Tea & cake <3"' "$work/inbox-json.log" || fail "inbox --json --limit 1 is not the newest message"
[ "$(wc -l <"$work/inbox-json.log")" -eq 1 ] || fail "inbox --limit 1 listed more than one"
echo "desktop-notify: pushctl inbox lists both, newest first"

# The desktop goes away: a listener warns once and still prints and keeps messages.
kill -INT "$listener"
wait "$listener" || fail "the listener did not stop cleanly on Ctrl-C"
DBUS_SESSION_BUS_ADDRESS="unix:path=$work/no-bus-here" \
    "$bin_dir/pushctl" listen --db "$db" --notify >"$work/listen-nobus.jsonl" 2>"$work/listen-nobus.log" &
pids+=($!)
send 'Nobody is watching'
send 'Still nobody'
wait_for "$work/listen-nobus.jsonl" '"payload"' 2 || fail "without a bus, messages were not printed"
[ "$(grep -c 'warning' "$work/listen-nobus.log")" -eq 1 ] || fail "without a bus, pushctl did not warn exactly once"
grep -q 'no desktop notification service' "$work/listen-nobus.log" || fail "the warning does not say what is wrong"
ctl inbox --db "$db" --limit 1 | grep -q 'Still nobody' || fail "without a bus, messages were not kept in the inbox"
[ "$(grep -c '"summary"' "$work/shown.jsonl")" -eq 2 ] || fail "the recorder saw notifications it should not have"
echo "desktop-notify: without a session bus, one warning; messages still printed and kept"
