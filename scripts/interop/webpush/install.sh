#!/usr/bin/env bash
# Installs the third-party Web Push senders that pushd's RFC 8030 tests drive
# (pywebpush, npm web-push, Go webpush-go, Java nl.martijndwars:web-push) and
# writes DEST/send-python, DEST/send-node, DEST/send-go, DEST/send-java.
# Each takes the same CLI (see selftest.py) and prints one JSON line.
#
# Usage: install.sh DEST
#
# Needs the registries only on the first run; afterwards the senders run
# without network. Re-running is quick: each part is rebuilt only when its
# inputs changed. Build output goes to DEST (node/node_modules excepted).
# send-python runs under $PUSH_TEST_PYTHON (default python3), into which the
# caller has pip-installed ../requirements.txt (it pins pywebpush).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DEST" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
dest=$(cd "$1" && pwd)

# stamp NAME FILE...: succeeds (and does nothing) when FILE... and DEST are
# unchanged since the last recorded build of NAME; record_stamp NAME writes it.
stamp_of() {
  (cd "$here" && sha256sum "$@"; echo "$dest") | sha256sum | cut -d' ' -f1
}
up_to_date() {
  local name=$1; shift
  local want; want=$(stamp_of "$@")
  [ -f "$dest/.stamp-$name" ] && [ "$(cat "$dest/.stamp-$name")" = "$want" ]
}
record_stamp() {
  local name=$1; shift
  stamp_of "$@" >"$dest/.stamp-$name"
}

write_wrapper() {
  local path=$1 body=$2
  local tmp="$path.tmp.$$"
  printf '#!/bin/sh\n%s\n' "$body" >"$tmp"
  chmod 755 "$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then rm -f "$tmp"; else mv -f "$tmp" "$path"; fi
}

q() { printf '%q' "$1"; }

# --- node: npm web-push, from package-lock.json -----------------------------
node_inputs=(node/package.json node/package-lock.json)
if up_to_date node "${node_inputs[@]}" && [ -d "$here/node/node_modules/web-push" ]; then
  echo "install.sh: node: up to date"
else
  echo "install.sh: node: npm ci"
  (cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error)
  record_stamp node "${node_inputs[@]}"
fi
write_wrapper "$dest/send-node" "exec node $(q "$here/node/send.js") \"\$@\""

# --- go: github.com/SherClockHolmes/webpush-go ------------------------------
go_inputs=(go/go.mod go/go.sum go/main.go)
if up_to_date go "${go_inputs[@]}" && [ -x "$dest/webpush-go" ]; then
  echo "install.sh: go: up to date"
else
  echo "install.sh: go: go build"
  (cd "$here/go" && go build -mod=readonly -trimpath -o "$dest/webpush-go" .)
  record_stamp go "${go_inputs[@]}"
fi
write_wrapper "$dest/send-go" "exec $(q "$dest/webpush-go") \"\$@\""

# --- java: nl.martijndwars:web-push, one shaded jar -------------------------
java_inputs=(java/pom.xml $(cd "$here" && find java/src -type f | LC_ALL=C sort))
if up_to_date java "${java_inputs[@]}" && [ -f "$dest/webpush-java.jar" ]; then
  echo "install.sh: java: up to date"
else
  echo "install.sh: java: mvn package"
  (cd "$here/java" && mvn -q -B -Dstyle.color=never package -Dwebpush.buildDir="$dest/java-build")
  cp -f "$dest/java-build/webpush-java.jar" "$dest/webpush-java.jar"
  record_stamp java "${java_inputs[@]}"
fi
# A UTF-8 locale so the JVM decodes a non-ASCII --payload correctly.
write_wrapper "$dest/send-java" "LC_ALL=C.UTF-8 exec java -jar $(q "$dest/webpush-java.jar") \"\$@\""

# --- python: pywebpush (installed by the caller from requirements.txt) -----
write_wrapper "$dest/send-python" "exec \"\${PUSH_TEST_PYTHON:-python3}\" $(q "$here/python/send.py") \"\$@\""

echo "install.sh: senders in $dest: send-python send-node send-go send-java"
