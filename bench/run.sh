#!/usr/bin/env bash
# kiln vs buildah: three cold build-and-push workloads, plus push throughput vs skopeo.
# See bench/README.md. Needs root, Debian's buildah, skopeo, umoci, debootstrap,
# busybox-static, docker-registry, time, jq, curl.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
RUNS=3
WORKLOADS="w1 w2 w3"
DO_PUSH=1
DO_BUILDAH=1
BUILD=auto
KILN=${KILN:-}
RESULT_FILE=
LOG_DIR=
TMPFS=0
CHECK=0
SETTLE=0
BENCH_CACHE=${KILN_BENCH_CACHE:-/var/cache/kiln-bench}

usage() {
    cat <<EOF
usage: bench/run.sh [--runs N] [--workloads "w1 w2 w3"] [--no-push-test] [--no-buildah]
                    [--build|--no-build] [--kiln PATH] [--save FILE] [--logs DIR] [--tmpfs] [--check] [--settle N]
  --runs N        builds per (tool, workload), cold each time (default 3); the table shows medians
  --workloads     subset of: w1 (busybox, 5 RUN, 50-file COPY), w2 (bookworm, 2,000 files,
                  rm -rf, 20 MB COPY, COPY --from; also run with --snapshot-mode time),
                  w3 (scratch, 10,000 files / 200 MB COPY)
  --no-push-test  skip the 200 MB push throughput comparison with skopeo
  --no-buildah    kiln only (ratios are left empty)
  --build         build kiln first from the committed HEAD (git archive) into .build-bench;
                  default: only when .build-bench/release/kiln is missing
  --kiln PATH     the kiln binary to measure (its plugins must sit next to it)
  --save FILE     also write the final table to FILE
  --logs DIR      keep every build's timestamped log and timing in DIR (the work dir goes)
  --check         also check that kiln's and buildah's run-1 images hold the same files
                  (unpacked with umoci; type, mode, owner, link target, content)
  --settle N      wait N seconds before each timed build (70 lets a journal-less ext4 reuse
                  the inodes the previous build's files freed; see settle in bench/lib/measure.sh)
  --tmpfs         put the whole work dir (contexts, registry, kiln's and buildah's storage) on a
                  tmpfs, to take the disk out of the comparison (needs ~3 GB of free RAM)
Environment: KILN_BENCH_CACHE (base-image cache, default /var/cache/kiln-bench),
KILN_DEBIAN_MIRROR (debootstrap mirror).
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
        --runs) RUNS=$2; shift 2 ;;
        --workloads) WORKLOADS=$2; shift 2 ;;
        --no-push-test) DO_PUSH=0; shift ;;
        --no-buildah) DO_BUILDAH=0; shift ;;
        --build) BUILD=yes; shift ;;
        --no-build) BUILD=no; shift ;;
        --kiln) KILN=$2; shift 2 ;;
        --save) RESULT_FILE=$2; shift 2 ;;
        --logs) LOG_DIR=$2; shift 2 ;;
        --tmpfs) TMPFS=1; shift ;;
        --settle) SETTLE=$2; shift 2 ;;
        --check) CHECK=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs needs a positive number" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench/run.sh needs root (buildah, chroot, debootstrap)" >&2; exit 2; }

BENCH_WORK=$(mktemp -d /var/tmp/kiln-bench.XXXXXX)
TMPFS_MOUNTED=0
REGISTRY_PID=
BUILDAH_STORE=
FAILURES=()
CHECK_RESULTS=()
source "$HERE/lib/common.sh"
source "$HERE/lib/bases.sh"
source "$HERE/lib/workloads.sh"
source "$HERE/lib/measure.sh"
source "$HERE/lib/push.sh"
source "$HERE/lib/report.sh"
source "$HERE/lib/check.sh"

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_registry
    remove_buildah_store
    if [ "$TMPFS_MOUNTED" = 1 ]; then umount "$BENCH_WORK" 2>/dev/null || umount -l "$BENCH_WORK" || true; fi
    rm -rf "$BENCH_WORK" "$BENCH_CACHE"/.*."$$" 2>/dev/null || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$TMPFS" = 1 ]; then
    mount -t tmpfs -o size=8g,mode=0700 kiln-bench "$BENCH_WORK" || die "cannot mount a tmpfs on $BENCH_WORK"
    TMPFS_MOUNTED=1
fi

for p in buildah:buildah skopeo:skopeo umoci:umoci debootstrap:debootstrap docker-registry:docker-registry \
         jq:jq curl:curl /usr/bin/time:time /bin/busybox:busybox-static; do
    need "${p%%:*}" "${p#*:}"
done

# kiln: the given binary, else the release build in .build-bench (made from HEAD when asked
# or missing; building from a git archive keeps other people's unsaved edits out of it).
if [ -z "$KILN" ]; then
    KILN="$REPO/.build-bench/release/kiln"
    if [ "$BUILD" = yes ] || { [ "$BUILD" = auto ] && [ ! -x "$KILN" ]; }; then
        src="$BENCH_WORK/src"
        mkdir -p "$src"
        git -C "$REPO" archive HEAD | tar -x -C "$src"
        say "building kiln $(git -C "$REPO" rev-parse --short HEAD) (release) into $REPO/.build-bench"
        for product in kiln KilnPluginSnapshotTime KilnPluginSnapshotFull KilnPluginRegistryOCI KilnPluginCrossQEMU KilnYAML; do
            (cd "$src" && swift build -c release --scratch-path "$REPO/.build-bench" --product "$product") >"$BENCH_WORK/build.log" 2>&1 ||
                { tail -30 "$BENCH_WORK/build.log" >&2; die "swift build failed ($product)"; }
        done
        git -C "$REPO" rev-parse --short HEAD >"$(dirname "$KILN")/kiln-bench.commit"
        rm -rf "$src"
    fi
fi
[ -x "$KILN" ] || die "no kiln binary at $KILN (use --build or --kiln PATH)"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "work directory $BENCH_WORK; base-image cache $BENCH_CACHE; $RUNS run(s) of: $WORKLOADS"
mkdir -p "$BENCH_WORK/out"
: >"$BENCH_WORK/samples"
for name in busybox bookworm; do cached_base "$name" >/dev/null; done
make_contexts

# Every measured build starts against a registry that holds only the bases, so no tool finds
# a blob pushed by an earlier run (HEAD hits or cross-repository mounts). Pushing the bases
# is not timed.
fresh_registry() {
    stop_registry
    rm -rf "$BENCH_WORK/registry"
    start_registry
    # shellcheck disable=SC2086 # a list of base names
    push_bases $1
}
bases_of() { case $1 in w1) echo busybox ;; w2) echo bookworm ;; *) echo "" ;; esac; }

for run in $(seq 1 "$RUNS"); do
    for w in $WORKLOADS; do
        # Rotate which build goes first, so none always gets the warmer page cache or always
        # follows another's cleanup (the disk can be slower then, see --settle). (ii) is also
        # built with kiln --snapshot-mode time: three builds, each first, second and third once
        # in three runs.
        jobs=(kiln buildah)
        [ "$w" = w2 ] && jobs=(kiln kiln-time buildah)
        shift_by=$(( (run - 1) % ${#jobs[@]} ))
        order=("${jobs[@]:$shift_by}" "${jobs[@]:0:$shift_by}")
        for job in "${order[@]}"; do
            case $job in
                buildah)
                    [ "$DO_BUILDAH" = 0 ] && continue
                    fresh_registry "$(bases_of "$w")"
                    say "run $run/$RUNS: buildah $w"
                    buildah_build "$w" "$run" ;;
                kiln)
                    fresh_registry "$(bases_of "$w")"
                    say "run $run/$RUNS: kiln $w"
                    kiln_build "$w" "$run" kiln ;;
                kiln-time)
                    fresh_registry "$(bases_of "$w")"
                    say "run $run/$RUNS: kiln $w --snapshot-mode time"
                    kiln_build "$w" "$run" kiln-time --snapshot-mode time ;;
            esac
        done
    done
done

if [ "$DO_PUSH" = 1 ]; then
    for run in $(seq 1 "$RUNS"); do push_test "$run"; done
fi

if [ "$CHECK" = 1 ]; then
    say "comparing kiln's and buildah's images"
    compare_images
fi
report | tee "$BENCH_WORK/table.txt"
if [ -n "$RESULT_FILE" ]; then
    mkdir -p "$(dirname "$RESULT_FILE")"
    cp "$BENCH_WORK/table.txt" "$RESULT_FILE"
    say "table saved to $RESULT_FILE"
fi
if [ -n "$LOG_DIR" ]; then
    mkdir -p "$LOG_DIR"
    LOG_DIR=$(realpath "$LOG_DIR")
    (cd "$BENCH_WORK/out" && find . -type f \( -name log -o -name time -o -name start -o -name rss -o -name 'skopeo.*' \) \
        -exec cp --parents {} "$LOG_DIR" \;)
    say "logs kept in $LOG_DIR"
fi
[ ${#FAILURES[@]} = 0 ] || exit 1
