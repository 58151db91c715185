#!/usr/bin/env bash
# The README's two-terminal walkthrough, run for real: pushd, then pushctl as a
# device (register, subscribe, listen) and as a sender (keygen, send), plus a
# site backend we did not write (Python grpcio + http_ece) sending to the same
# subscription. Fails unless the listener prints both decrypted messages.
#
# usage: scripts/walkthrough.sh BIN_DIR PYTHON
set -euo pipefail

bin_dir=${1:?binary folder holding pushd and pushctl}
python=${2:-python3}
root=$(cd "$(dirname "$0")/.." && pwd)
harness=walkthrough
# shellcheck source=lib/harness.sh
source "$root/scripts/lib/harness.sh"
start_pushd

# Terminal 1: the device.
"$bin_dir/pushctl" register --db "$work/device.db" >"$work/register.log" || fail "register"
"$bin_dir/pushctl" subscribe --db "$work/device.db" >"$work/subscription.json" 2>"$work/subscribe.log" || fail "subscribe"
"$bin_dir/pushctl" listen --db "$work/device.db" >"$work/messages.jsonl" 2>"$work/listen.log" &
pids+=($!)

# Terminal 2: the site backend.
"$bin_dir/pushctl" keygen --out "$work/vapid.pem" >"$work/keygen.log" || fail "keygen"
"$bin_dir/pushctl" send --key "$work/vapid.pem" --subject mailto:you@example.com \
    --subscription "@$work/subscription.json" "Hello from pushctl" >"$work/send.log" || fail "send"
"$python" "$root/scripts/interop/grpcio_sender.py" "$root/proto/proto" "$address" \
    "$(cat "$work/subscription.json")" "Hello from Python grpcio" >"$work/python.log" 2>&1 || fail "python grpcio sender"

for _ in $(seq 100); do
    [ "$(wc -l <"$work/messages.jsonl")" -ge 2 ] && break
    sleep 0.1
done
grep -q '"payload":"Hello from pushctl"' "$work/messages.jsonl" || fail "the pushctl message did not arrive decrypted"
grep -q '"payload":"Hello from Python grpcio"' "$work/messages.jsonl" || fail "the Python message did not arrive decrypted"
echo "walkthrough: pushctl and Python grpcio messages arrived and decrypted"
cat "$work/messages.jsonl"

# One user, several devices: the README's account walkthrough.
ctl() { "$bin_dir/pushctl" "$@"; }
account=$(ctl account create --db "$work/phone.db" --name Phone) || fail "account create"
ctl account join --db "$work/laptop.db" "$account" --name Laptop >"$work/fingerprint.txt" 2>"$work/join.log" || fail "account join"
ctl account devices --db "$work/phone.db" >"$work/devices.jsonl" || fail "account devices"
laptop_id=$("$python" -c '
import json, sys
fingerprint = open(sys.argv[2]).read().strip()
for line in open(sys.argv[1]):
    device = json.loads(line)
    if not device["approved"] and device["fingerprint"] == fingerprint:
        print(device["device_id"])
' "$work/devices.jsonl" "$work/fingerprint.txt")
[ -n "$laptop_id" ] || fail "the waiting laptop, with the fingerprint it printed, is not listed"
ctl account approve --db "$work/phone.db" "$laptop_id" || fail "account approve"
ctl account subscribe --db "$work/phone.db" >"$work/shared.json" || fail "account subscribe"
for device in phone laptop; do
    # pushctl itself, not the ctl function: a function in the background is a
    # subshell, and killing that would leave the listener running.
    "$bin_dir/pushctl" listen --db "$work/$device.db" >"$work/$device.jsonl" 2>"$work/$device-listen.log" &
    pids+=($!)
done
ctl send --key "$work/vapid.pem" --subject mailto:you@example.com \
    --subscription "@$work/shared.json" "Hello, every device" >"$work/shared-send.log" || fail "send to the account"
for device in phone laptop; do
    for _ in $(seq 100); do
        grep -q '"payload":"Hello, every device"' "$work/$device.jsonl" && break
        sleep 0.1
    done
    grep -q '"payload":"Hello, every device"' "$work/$device.jsonl" || fail "the $device did not get the account message"
done
grep -q '"devices":2' "$work/shared-send.log" || fail "the send did not reach two devices"
echo "walkthrough: one send to the account reached and decrypted on the phone and the laptop"
