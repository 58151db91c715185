#!/usr/bin/env bash
# Start a throw-away Apache Cassandra 5.0 cluster (1 or 3 nodes) on loopback,
# without Docker, as a real CQL server for pushd's tests.
#
#   deploy/cassandra/start.sh [--nodes 1|3] [--base-dir DIR] [--tls]
#
# --tls also serves CQL over TLS on the same port (plaintext stays allowed):
# a throw-away CA and a node certificate for 127.0.0.1-3 are made with
# openssl in <base>/tls/ (ca.pem is what clients should trust).
# Node N listens on 127.0.0.N (CQL 9042, storage 7000, local JMX 7198+N).
# Jars come from Maven Central through pom.xml next to this script (cached in
# ~/.m2 and copied to <base>/lib). Each node gets <base>/nodeN/{conf,data,
# commitlog,saved_caches,hints,cdc_raw,logs,pid}, plus <base>/nodetool.
# Stop with stop.sh.
#
# Environment knobs:
#   PUSHD_CASSANDRA_DIR      default base dir (/tmp/pushd-cassandra)
#   PUSHD_CASSANDRA_HEAP     JVM heap per node (512m)
#   PUSHD_CASSANDRA_TIMEOUT  seconds to wait for each node's CQL port (180)
#   PUSHD_CASSANDRA_JAVA     java binary (java from PATH)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NODES=1
TLS=0
BASE="${PUSHD_CASSANDRA_DIR:-/tmp/pushd-cassandra}"
HEAP="${PUSHD_CASSANDRA_HEAP:-512m}"
TIMEOUT="${PUSHD_CASSANDRA_TIMEOUT:-180}"
JAVA="${PUSHD_CASSANDRA_JAVA:-java}"
CQL_PORT=9042
STORAGE_PORT=7000

usage() { sed -n '2,/^set -euo/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --nodes) NODES="${2:?--nodes needs a value}"; shift 2 ;;
    --nodes=*) NODES="${1#*=}"; shift ;;
    --base-dir) BASE="${2:?--base-dir needs a value}"; shift 2 ;;
    --base-dir=*) BASE="${1#*=}"; shift ;;
    --tls) TLS=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "start.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$NODES" in 1|3) ;; *) echo "start.sh: --nodes must be 1 or 3 (got '$NODES')" >&2; exit 2 ;; esac

mkdir -p "$BASE"
BASE="$(cd "$BASE" && pwd)"   # absolute: it ends up in file:// URLs
LIB="$BASE/lib"

# One start.sh per base dir at a time (the checks below are not atomic).
exec 9>"$BASE/.start.lock"
flock -n 9 || { echo "start.sh: another start.sh is running on $BASE" >&2; exit 1; }

log() { printf '[cassandra %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { printf 'start.sh: %s\n' "$*" >&2; exit 1; }

command -v "$JAVA" >/dev/null || die "java not found (need Java 17)"
command -v python3 >/dev/null || die "python3 not found (used for the CQL readiness probe)"

node_addr() { echo "127.0.0.$1"; }
# Murmur3 ring split in three: node N owns from its token to the next.
node_token() {
  case "$1" in
    1) echo "-9223372036854775808" ;;
    2) echo "-3074457345618258603" ;;
    3) echo "3074457345618258602" ;;
  esac
}
jmx_port()  { echo $((7198 + $1)); }

# True when pid file of node $1 names a live Cassandra JVM.
node_running() {
  local pidf="$BASE/node$1/pid" pid
  [[ -f "$pidf" ]] || return 1
  pid="$(cat "$pidf")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q CassandraDaemon
}

# True when host:port can be bound right now (no listener on it, also not a
# wildcard 0.0.0.0 one). SO_REUSEADDR like Cassandra's own server sockets, so
# TIME_WAIT leftovers of a previous run do not count as "in use".
port_free() {
  python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

# CQL readiness probe: send an OPTIONS frame (protocol v4: version 0x04,
# flags 0, stream 0, opcode 0x05, body length 0) and expect a response
# frame (version 0x84) with opcode SUPPORTED (0x06).
cql_ready() {
  python3 - "$1" "$2" <<'PY'
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    s.settimeout(3)
    s.sendall(bytes([0x04, 0, 0, 0, 0x05, 0, 0, 0, 0]))
    hdr = b""
    while len(hdr) < 9:
        chunk = s.recv(9 - len(hdr))
        if not chunk:
            sys.exit(1)
        hdr += chunk
    s.close()
    sys.exit(0 if hdr[0] == 0x84 and hdr[4] == 0x06 else 1)
except OSError:
    sys.exit(1)
PY
}

# Prints how many rows the node's system.peers has (what drivers use to
# discover the cluster), or -1 on any error. Minimal CQL v4 client: STARTUP,
# expect READY (no auth), QUERY at ONE, read rows_count of the RESULT.
cql_peer_count() {
  python3 - "$1" "$2" <<'PY'
import socket, struct, sys

def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    return buf

def request(s, opcode, body):
    s.sendall(struct.pack(">BBhBi", 0x04, 0, 0, opcode, len(body)) + body)
    _ver, _flags, _stream, op, length = struct.unpack(">BBhBi", recv_exact(s, 9))
    return op, recv_exact(s, length)

def string(x):
    b = x.encode()
    return struct.pack(">H", len(b)) + b

try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
    s.settimeout(5)
    op, _ = request(s, 0x01, struct.pack(">H", 1) + string("CQL_VERSION") + string("3.0.0"))
    if op != 0x02:  # READY
        raise OSError("no READY")
    q = b"SELECT peer FROM system.peers"
    op, body = request(s, 0x07, struct.pack(">i", len(q)) + q + struct.pack(">HB", 0x0001, 0))
    if op != 0x08 or struct.unpack(">i", body[:4])[0] != 2:  # RESULT, kind Rows
        raise OSError("no Rows result")
    pos = 4
    flags, ncols = struct.unpack(">ii", body[pos:pos + 8]); pos += 8
    def skip_string():
        global pos
        pos += 2 + struct.unpack(">H", body[pos:pos + 2])[0]
    if flags & 0x0002:  # paging state
        n = struct.unpack(">i", body[pos:pos + 4])[0]; pos += 4 + max(n, 0)
    if not flags & 0x0004:  # metadata present
        if flags & 0x0001:  # global table spec
            skip_string(); skip_string()
        for _ in range(ncols):
            if not flags & 0x0001:
                skip_string(); skip_string()
            skip_string()
            pos += 2  # type id of `peer` (inet): a simple type, no extra bytes
    print(struct.unpack(">i", body[pos:pos + 4])[0])
except (OSError, struct.error):
    print(-1)
PY
}

log_tail() {
  local d="$BASE/node$1/logs" f
  for f in "$d/system.log" "$d/stdout.log"; do
    [[ -s "$f" ]] || continue
    echo "----- last 40 lines of $f -----" >&2
    tail -n 40 "$f" >&2
  done
}

# ---------------------------------------------------------------- preflight
# Everything is checked before anything is started, so a refusal leaves the
# machine as it was.
for n in $(seq 1 "$NODES"); do
  addr="$(node_addr "$n")"
  if node_running "$n"; then
    die "node$n is already running (pid $(cat "$BASE/node$n/pid"), $addr:$CQL_PORT); run stop.sh --base-dir $BASE first"
  fi
  for port in "$CQL_PORT" "$STORAGE_PORT"; do
    port_free "$addr" "$port" || die "$addr:$port is already in use by another process (another Cassandra/Scylla?); refusing to start node$n"
  done
  port_free 127.0.0.1 "$(jmx_port "$n")" || die "127.0.0.1:$(jmx_port "$n") (JMX of node$n) is already in use"
done

# ---------------------------------------------------------------- jars
# Re-resolve only when the pom changed since the last copy (stamp = its hash).
pom_hash="$(sha256sum "$SCRIPT_DIR/pom.xml" | cut -d' ' -f1)"
if [[ ! -f "$LIB/.pom.sha256" || "$(cat "$LIB/.pom.sha256")" != "$pom_hash" ]]; then
  command -v mvn >/dev/null || die "mvn not found (needed once to fetch cassandra-all from Maven Central)"
  log "resolving cassandra-all with Maven into $LIB"
  t0=$SECONDS
  rm -rf "$LIB.tmp"
  # Maven's output goes to a file (quiet mode still emits colour escapes);
  # it is shown only when resolution fails.
  if ! mvn -B -f "$SCRIPT_DIR/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$LIB.tmp" >"$BASE/maven.log" 2>&1; then
    tail -n 40 "$BASE/maven.log" >&2
    die "maven dependency resolution failed (full log: $BASE/maven.log)"
  fi
  echo "$pom_hash" >"$LIB.tmp/.pom.sha256"
  rm -rf "$LIB"
  mv "$LIB.tmp" "$LIB"
  log "jars ready in $((SECONDS - t0))s ($(ls "$LIB"/*.jar | wc -l) jars)"
fi
CASSANDRA_JAR="$(ls "$LIB"/cassandra-all-*.jar | head -n1)"
[[ -n "$CASSANDRA_JAR" ]] || die "no cassandra-all jar in $LIB"

# ---------------------------------------------------------------- JVM flags
# Module flags: the "JPMS" section of Cassandra's conf/jvm17-server.options;
# without them Cassandra 5 dies on reflective access (Unsafe, nio, jamm...).
JPMS_FLAGS=(
  --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
  --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
  --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
  --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
  --add-exports java.sql/java.sql=ALL-UNNAMED
  --add-exports java.base/java.lang.ref=ALL-UNNAMED
  --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
  --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
  --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
  --add-opens java.base/java.lang.module=ALL-UNNAMED
  --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
  --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
  --add-opens java.base/jdk.internal.math=ALL-UNNAMED
  --add-opens java.base/jdk.internal.module=ALL-UNNAMED
  --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
  --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
  --add-opens java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens java.base/java.io=ALL-UNNAMED
  --add-opens java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
  --add-opens java.base/java.lang=ALL-UNNAMED
  --add-opens java.base/java.util=ALL-UNNAMED
)
COMMON_FLAGS=(
  -Xms"$HEAP" -Xmx"$HEAP" -Xss256k
  -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError
  -XX:+PerfDisableSharedMem           # no /tmp/hsperfdata mmap per JVM
  -Djava.net.preferIPv4Stack=true
  -Djdk.attach.allowAttachSelf=true   # jamm/sjk attach to their own JVM
  -Dio.netty.tryReflectionSetAccessible=true
  -Dio.netty.allocator.useCacheForAllThreads=true
  -Dio.netty.allocator.maxOrder=11
  # Test-cluster speedups (Cassandra system properties, see CassandraRelevantProperties):
  -Dcassandra.skip_wait_for_gossip_to_settle=0   # don't wait for gossip to settle
  -Dcassandra.superuser_setup_delay_ms=0
  -Dcassandra.consistent.rangemovement=false     # don't block joins on range-movement checks
  -Dcassandra.unsafesystem=true                  # no fsync for system tables: faster DDL
  -Dcassandra-foreground=yes                     # keep stdout/stderr (to logs/stdout.log)
  -javaagent:"$LIB/$(basename "$(ls "$LIB"/jamm-*.jar | head -n1)")"   # object sizing, as cassandra-env.sh does
)

# ---------------------------------------------------------------- TLS
# A CA and one certificate for every node address (the driver checks the
# node's IP against the certificate), bundled as PKCS#12 for Cassandra.
TLS_DIR="$BASE/tls"
TLS_PASSWORD=pushd-test
make_tls() {
  [[ -f "$TLS_DIR/node.p12" ]] && return
  command -v openssl >/dev/null || die "openssl not found (needed for --tls)"
  mkdir -p "$TLS_DIR"
  (
    cd "$TLS_DIR"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -subj "/CN=pushd test CA" -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -subj "/CN=cassandra" -keyout node.key -out node.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3\n' >node.ext
    openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile node.ext -out node.pem 2>/dev/null
    openssl pkcs12 -export -in node.pem -inkey node.key -name cassandra \
      -passout "pass:$TLS_PASSWORD" -out node.p12
  ) || die "making TLS certificates in $TLS_DIR failed"
  log "TLS: CA $TLS_DIR/ca.pem"
}
(( TLS )) && make_tls

tls_config() {
  (( TLS )) || return 0
  cat <<EOF

# CQL over TLS on the native port; plaintext clients are still accepted.
client_encryption_options:
  enabled: true
  optional: true
  keystore: $TLS_DIR/node.p12
  keystore_password: $TLS_PASSWORD
  store_type: PKCS12
  require_client_auth: false
EOF
}

# ---------------------------------------------------------------- per node
write_config() {
  local n="$1" dir="$BASE/node$1" addr
  addr="$(node_addr "$n")"
  mkdir -p "$dir"/{conf,data,commitlog,saved_caches,hints,cdc_raw,logs,triggers}
  cat >"$dir/conf/cassandra.yaml" <<EOF
# Generated by deploy/cassandra/start.sh -- overwritten on every start.
cluster_name: pushd-test
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
# One fixed, evenly spaced token per node: token allocation from gossip can
# hand two nodes that join in quick succession the same token (a "Bootstrap
# Token collision" that kills the second); fixed tokens cannot collide.
num_tokens: 1
initial_token: $(node_token "$n")
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:$STORAGE_PORT"
listen_address: $addr
rpc_address: $addr
storage_port: $STORAGE_PORT
native_transport_port: $CQL_PORT
start_native_transport: true

authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
role_manager: CassandraRoleManager
network_authorizer: AllowAllNetworkAuthorizer

data_file_directories:
  - $dir/data
commitlog_directory: $dir/commitlog
saved_caches_directory: $dir/saved_caches
hints_directory: $dir/hints
cdc_raw_directory: $dir/cdc_raw

commitlog_sync: periodic
commitlog_sync_period: 10000ms
commitlog_segment_size: 32MiB
disk_failure_policy: stop
commit_failure_policy: stop

# Fresh cluster: no 4.x nodes to stay wire/sstable compatible with.
storage_compatibility_mode: NONE

# Small footprint for a test box.
memtable_allocation_type: heap_buffers
memtable_heap_space: 64MiB
memtable_offheap_space: 64MiB
file_cache_size: 32MiB
key_cache_size: 8MiB
counter_cache_size: 0MiB
networking_cache_size: 16MiB
prepared_statements_cache_size: 8MiB
concurrent_reads: 8
concurrent_writes: 8
concurrent_counter_writes: 8
concurrent_compactors: 1
memtable_flush_writers: 1

# Tests create/drop/truncate a lot: no snapshots on DROP/TRUNCATE.
auto_snapshot: false
incremental_backups: false
snapshot_before_compaction: false
EOF
  tls_config >>"$dir/conf/cassandra.yaml"
  cat >"$dir/conf/logback.xml" <<'EOF'
<!-- Generated by deploy/cassandra/start.sh: INFO to logs/system.log only. -->
<configuration scan="false">
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>${cassandra.logdir}/system.log</file>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
EOF
}

# <base>/nodetool: nodetool for this cluster (JMX of node1 unless -p is given),
# e.g. <base>/nodetool status, <base>/nodetool -p 7200 info.
write_nodetool() {
  {
    echo '#!/usr/bin/env bash'
    echo '# Generated by deploy/cassandra/start.sh. Node N has local JMX port 7198+N.'
    printf 'exec %q -Xmx128m' "$JAVA"
    printf ' %q' "${JPMS_FLAGS[@]}"
    # Without a logback config nodetool prints netty's DEBUG chatter.
    printf ' -Dlogback.configurationFile=%q' "$BASE/nodetool-logback.xml"
    printf ' -cp %q org.apache.cassandra.tools.NodeTool -h 127.0.0.1 -p 7199 "$@"\n' "$LIB/*"
  } >"$BASE/nodetool"
  cat >"$BASE/nodetool-logback.xml" <<'EOF'
<configuration>
  <appender name="ERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>%-5level %logger{20} - %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="ERR"/></root>
</configuration>
EOF
  chmod +x "$BASE/nodetool"
}
write_nodetool

STARTED=()
# On failure, stop the nodes this invocation started so nothing is left behind.
cleanup_on_failure() {
  local pid
  for pid in "${STARTED[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 2
  for pid in "${STARTED[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

# A joining node waits ring_delay for a seed's gossip (30s by default) and
# gives up if none came. 1s is enough on an idle machine; each retry waits
# longer, for a seed busy with the previous node's join or a loaded machine.
ring_delay_ms() {
  case "$1" in 1) echo 1000 ;; 2) echo 5000 ;; 3) echo 15000 ;; *) echo 30000 ;; esac
}
MAX_ATTEMPTS=4

start_node() {
  local n="$1" attempt="${2:-1}" dir="$BASE/node$1" addr pid t0
  addr="$(node_addr "$n")"
  write_config "$n"
  log "starting node$n on $addr (heap $HEAP, logs $dir/logs)"
  t0=$SECONDS
  # nohup + </dev/null: the JVM outlives this script and holds none of its fds.
  # MALLOC_ARENA_MAX=4 as in cassandra-env.sh: caps glibc malloc arenas (RSS).
  # The JVM runs with the node dir as cwd (hs_err files land there) and
  # without fd 9, the start lock, which it would otherwise hold forever.
  cd "$dir"
  MALLOC_ARENA_MAX=4 nohup "$JAVA" "${COMMON_FLAGS[@]}" "${JPMS_FLAGS[@]}" \
    -Dcassandra.ring_delay_ms="$(ring_delay_ms "$attempt")" \
    -Dcassandra.config="file://$dir/conf/cassandra.yaml" \
    -Dcassandra.logdir="$dir/logs" \
    -Dcassandra.storagedir="$dir" \
    -Dcassandra.triggers_dir="$dir/triggers" \
    -Dlogback.configurationFile="$dir/conf/logback.xml" \
    -Dcassandra.jmx.local.port="$(jmx_port "$n")" \
    -Dcom.sun.management.jmxremote.authenticate=false \
    -cp "$LIB/*" org.apache.cassandra.service.CassandraDaemon \
    </dev/null >"$dir/logs/stdout.log" 2>&1 9>&- &
  pid=$!
  cd - >/dev/null
  echo "$pid" >"$dir/pid"
  STARTED+=("$pid")

  while ! cql_ready "$addr" "$CQL_PORT"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      # A joining node that reaches no seed in time gives up at once; on a
      # busy 2-core machine the seed's gossip is sometimes just slow.
      if grep -q "Unable to contact any seeds" "$dir/logs/stdout.log" && ! node_running 1; then
        log "node1, the seed, is not running any more: its log follows"
        log_tail 1
      elif grep -q "Unable to contact any seeds" "$dir/logs/stdout.log" && (( attempt < MAX_ATTEMPTS )); then
        log "node$n could not reach a seed within $(ring_delay_ms "$attempt") ms; starting it again" \
          "(attempt $(( attempt + 1 )) of $MAX_ATTEMPTS, waiting up to $(ring_delay_ms $(( attempt + 1 ))) ms)"
        rm -rf "$dir/data" "$dir/commitlog" "$dir/saved_caches" "$dir/hints" "$dir/cdc_raw"
        sleep 5
        start_node "$n" $(( attempt + 1 ))
        return
      fi
      log_tail "$n"
      cleanup_on_failure
      die "node$n (pid $pid) exited before CQL came up on $addr:$CQL_PORT"
    fi
    if (( SECONDS - t0 >= TIMEOUT )); then
      log_tail "$n"
      cleanup_on_failure
      die "node$n did not answer CQL on $addr:$CQL_PORT within ${TIMEOUT}s (stopped)"
    fi
    sleep 1
  done
  log "node$n ready: CQL on $addr:$CQL_PORT after $((SECONDS - t0))s (pid $pid)"
}

# Nodes join one at a time: each must answer CQL (i.e. finished joining the
# ring) before the next one starts bootstrapping.
for n in $(seq 1 "$NODES"); do
  start_node "$n"
done

# A node answers CQL once it has joined, but the others may take a moment to
# gossip it into their system.peers; drivers connecting then would see a
# partial ring. Wait until every node lists all the others.
if (( NODES > 1 )); then
  t0=$SECONDS
  for n in $(seq 1 "$NODES"); do
    while (( $(cql_peer_count "$(node_addr "$n")" "$CQL_PORT") != NODES - 1 )); do
      if (( SECONDS - t0 >= TIMEOUT )); then
        cleanup_on_failure
        die "node$n still does not list all $((NODES - 1)) peers after ${TIMEOUT}s (stopped)"
      fi
      sleep 1
    done
  done
  log "all $NODES nodes list each other in system.peers (+$((SECONDS - t0))s)"
fi

points=""
for n in $(seq 1 "$NODES"); do points+="${points:+,}$(node_addr "$n"):$CQL_PORT"; done
log "cluster pushd-test up ($NODES node(s), $(basename "$CASSANDRA_JAR" .jar)); contact points: $points"
