#!/usr/bin/env bash
# Warm rebuilds: kiln --cache --cache-repo against buildah bud --layers with its storage kept,
# in the same run, on workloads (i) and (ii) (bench/README.md). Per workload and tool: one cold
# build fills the cache (not timed), then RUNS timed rows of each kind:
#   warm     nothing changed
#   changed  one source file under the late COPY changed (restored afterwards)
#   warm-Nms, changed-Nms   the same through a relay adding N ms (--relay-ms, default 20) to every
#            request turn and connection (bench/lib/relay.py): a remote-like registry for the push
#            and for kiln's cache repository, where the number of round trips shows
# Each timed build includes the push of the image to the local registry, as in bench/run.sh.
# kiln's cache repository is the same registry (REG/cache-<workload>); its --cache-dir (base
# images and their extracted files) is kept for the workload's builds, as buildah's storage is.
#
# kiln runs with --cache-copy-layers (buildah --layers caches COPY too); --no-copy-layers drops it.
#
# Usage: sudo bench/cache.sh [--runs N] [--workloads "w1 w2"] [--kiln PATH] [--no-copy-layers] [--relay-ms N]
#   KEEP_LOGS=DIR keeps each timed build's log (kiln's with timestamps) in DIR.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=3
WORKLOADS="w1 w2"
COPY_LAYERS=(--cache-copy-layers)
RELAY_MS=20
KILN=${KILN:-$HERE/../.build-bench/release/kiln}
while [ $# -gt 0 ]; do
    case $1 in
        --runs) RUNS=$2; shift 2 ;;
        --workloads) WORKLOADS=$2; shift 2 ;;
        --kiln) KILN=$2; shift 2 ;;
        --no-copy-layers) COPY_LAYERS=(); shift ;;
        --relay-ms) RELAY_MS=$2; shift 2 ;;
        *) sed -n 2,18p "$0" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "bench/cache.sh needs root (buildah, chroot)" >&2; exit 2; }
[ -x "$KILN" ] || { echo "no kiln at $KILN: bench/run.sh --build makes it, or --kiln PATH" >&2; exit 2; }
BENCH_CACHE=${KILN_BENCH_CACHE:-/var/cache/kiln-bench}
BENCH_WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/kiln-cache-bench.XXXXXX")
source "$HERE/lib/common.sh"
source "$HERE/lib/bases.sh"
source "$HERE/lib/workloads.sh"
source "$HERE/lib/measure.sh"
BUILDAH_STORE=
RELAY_PID=
trap 'remove_buildah_store; [ -z "$RELAY_PID" ] || kill "$RELAY_PID"; stop_registry; rm -rf "$BENCH_WORK"' EXIT

# The file a "changed" row rewrites: one under the workload's last COPY from the context.
changed_file() {
    case $1 in
        w1) echo "$BENCH_WORK/ctx/w1/files/f01.txt" ;;
        w2) echo "$BENCH_WORK/ctx/w2/big/part4.txt" ;;
    esac
}

# seconds COMMAND...: wall seconds of COMMAND (its output to BENCH_WORK/last.log).
seconds() {
    local start=$EPOCHREALTIME
    "$@" >"$BENCH_WORK/last.log" 2>&1 || { tail -20 "$BENCH_WORK/last.log" >&2; die "failed: $*"; }
    awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'
}

# TARGET: the registry a kind talks to (the relay for the -Nms kinds).
kiln_run() {
    local w=$1 tag=$2 ctx="$BENCH_WORK/ctx/$1"
    "$KILN" -c "$ctx" -f "$ctx/Dockerfile" -d "$TARGET/kiln-$w:$tag" --insecure-registry "$TARGET" \
        --cache --cache-repo "$TARGET/cache-$w" --cache-dir "$BENCH_WORK/kiln-bases-$w" \
        --kaniko-dir "$BENCH_WORK/kiln-work" --log-timestamp "${COPY_LAYERS[@]}"
}

buildah_run() {
    local w=$1 tag=$2 ctx="$BENCH_WORK/ctx/$1"
    local store=(--root "$BUILDAH_STORE/root" --runroot "$BUILDAH_STORE/runroot" --storage-driver overlay)
    BUILDAH_ISOLATION=chroot buildah "${store[@]}" bud --isolation chroot --layers --format oci --tls-verify=false \
        -f "$ctx/Dockerfile" -t "localhost/bench-$w:$tag" "$ctx"
    buildah "${store[@]}" push --tls-verify=false "localhost/bench-$w:$tag" "docker://$TARGET/buildah-$w:$tag"
}

# change FILE: rewrites its first line (same size), keeping a copy to restore.
change() { cp -p "$1" "$1.orig"; printf 'changed %08d\n' "$RANDOM" | dd of="$1" conv=notrunc status=none; }
restore() { mv "$1.orig" "$1"; }

need buildah buildah
need docker-registry docker-registry
need skopeo skopeo
mkdir -p "$BENCH_WORK/ctx"
for w in $WORKLOADS; do mkdir -p "$BENCH_WORK/ctx/$w"; "make_$w" "$BENCH_WORK/ctx/$w"; done
start_registry
push_bases busybox bookworm
RELAY_PORT=$(free_port)
python3 "$HERE/lib/relay.py" "$RELAY_PORT" "$REGISTRY" "$RELAY_MS" >"$BENCH_WORK/relay.log" 2>&1 &
RELAY_PID=$!
for _ in $(seq 1 50); do grep -q ready "$BENCH_WORK/relay.log" && break; sleep 0.1; done
RELAY="127.0.0.1:$RELAY_PORT"
say "relay on $RELAY: $REGISTRY plus ${RELAY_MS} ms per request turn"
KINDS="warm changed warm-${RELAY_MS}ms changed-${RELAY_MS}ms"
echo "tool workload kind run seconds" >"$BENCH_WORK/samples"
for w in $WORKLOADS; do
    render_dockerfile "$w"
    BUILDAH_STORE="$BENCH_WORK/buildah-$w"
    say "$w: cold builds (fill kiln's cache repository and buildah's storage)"
    TARGET=$REGISTRY
    seconds kiln_run "$w" cold >/dev/null
    rm -rf "$BENCH_WORK/kiln-work"
    seconds buildah_run "$w" cold >/dev/null
    file=$(changed_file "$w")
    for run in $(seq 1 "$RUNS"); do
        for kind in $KINDS; do
            case $kind in *ms) TARGET=$RELAY ;; *) TARGET=$REGISTRY ;; esac
            case $kind in changed*) change "$file" ;; esac
            # Alternate the order so neither tool always runs on a warmer page cache.
            if [ $(( run % 2 )) = 1 ]; then order="kiln buildah"; else order="buildah kiln"; fi
            for tool in $order; do
                s=$(seconds "${tool}_run" "$w" "$kind-$run")
                [ "$tool" = kiln ] && [ "${kind%%-*}" = warm ] && ! grep -q "cache hit" "$BENCH_WORK/last.log" && say "kiln $w: no cache hit?"
                echo "$tool $w $kind $run $s" >>"$BENCH_WORK/samples"
                if [ -n "${KEEP_LOGS:-}" ]; then cp "$BENCH_WORK/last.log" "$KEEP_LOGS/$tool-$w-$kind-$run.log"; fi
                # As bench/run.sh: kiln's working directory (its roots) goes after the clock stops,
                # as buildah's containers stay in its storage.
                rm -rf "$BENCH_WORK/kiln-work"
                say "$tool $w $kind run $run: ${s}s"
            done
            case $kind in changed*) restore "$file" ;; esac
        done
    done
    remove_buildah_store
    rm -rf "$BENCH_WORK/kiln-bases-$w"
done
echo
printf '%-9s %-13s %10s %12s %7s\n' workload kind "kiln (s)" "buildah (s)" ratio
for w in $WORKLOADS; do
    for kind in $KINDS; do
        k=$(awk -v w="$w" -v k="$kind" '$1 == "kiln" && $2 == w && $3 == k { print $5 }' "$BENCH_WORK/samples" | median)
        b=$(awk -v w="$w" -v k="$kind" '$1 == "buildah" && $2 == w && $3 == k { print $5 }' "$BENCH_WORK/samples" | median)
        printf '%-9s %-13s %10s %12s %7s\n' "$w" "$kind" "$k" "$b" "$(ratio "$k" "$b")"
    done
done
