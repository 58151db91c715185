# Sourced by the bench scripts: waits (up to 30 s) for a pushd started with
# --ready-file FILE and sets $address and $pid from it.
wait_ready() {
    for _ in $(seq 300); do [ -s "$1" ] && break; sleep 0.1; done
    read -r address pid < <(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['listen'], r['pid'])" "$1")
}
