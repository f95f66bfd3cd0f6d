# Shared helpers of bench/run.sh: logging, the work directory, the registry.
# Sourced, not executed. Expects BENCH_WORK (a temp dir owned by this run).

say() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# need PROGRAM PACKAGE: fail with what to install.
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is missing: apt-get install $2"; }

# A loopback TCP port nobody listens on (the registry retries if it loses the race).
free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$(( 20000 + RANDOM % 40000 ))
        ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return 0; }
    done
    die "no free loopback port found"
}

# Starts Debian's docker-registry on 127.0.0.1 with filesystem storage under BENCH_WORK.
# Sets REGISTRY (host:port) and REGISTRY_PID.
start_registry() {
    local dir="$BENCH_WORK/registry" port attempt
    mkdir -p "$dir/storage"
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
EOF
        docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
        REGISTRY_PID=$!
        for _ in $(seq 1 100); do
            if curl -fs -o /dev/null "http://127.0.0.1:$port/v2/"; then
                REGISTRY="127.0.0.1:$port"
                say "registry on $REGISTRY (pid $REGISTRY_PID, storage $dir/storage)"
                return 0
            fi
            kill -0 "$REGISTRY_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$REGISTRY_PID" 2>/dev/null || true; wait "$REGISTRY_PID" 2>/dev/null || true
        REGISTRY_PID=
        grep -q "address already in use" "$dir/registry.log" || { cat "$dir/registry.log" >&2; die "docker-registry did not start"; }
    done
    die "docker-registry: no port after $attempt attempts"
}

stop_registry() {
    [ -n "${REGISTRY_PID:-}" ] || return 0
    kill "$REGISTRY_PID" 2>/dev/null || true
    wait "$REGISTRY_PID" 2>/dev/null || true
    REGISTRY_PID=
}

# median of the numbers on stdin (one per line); the mean of the middle two for an even count.
median() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B, two decimals ("-" when either is missing or B is zero).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "nan" || b == "nan" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

# stamp: prefixes each line of stdin with the epoch time it arrived ($EPOCHREALTIME, a bash
# builtin, so no process per line). Tools write their logs unbuffered to stderr, so this is
# when the line was written, to well under a millisecond.
stamp() {
    local line
    while IFS= read -r line || [ -n "$line" ]; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done
}
