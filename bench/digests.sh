#!/usr/bin/env bash
# Builds the benchmark workloads (bench/README.md: (i) busybox + RUN, (ii) bookworm, two stages,
# (iii) scratch + 10,000 files) with two kiln binaries on the same contexts, reproducibly, and
# prints each image's digest side by side: a refactoring that should not change behaviour
# must give the same images byte for byte.
#
# Usage: sudo bench/digests.sh KILN_A KILN_B [--snapshot-mode time]
#   KILN_A, KILN_B  kiln binaries (their plugins beside them), e.g. an old and a new build
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 2 ] || { sed -n 2,8p "$0" >&2; exit 2; }
KILN_A=$1 KILN_B=$2
shift 2
EXTRA=("$@")
BENCH_CACHE=${KILN_BENCH_CACHE:-/var/cache/kiln-bench}
BENCH_WORK=$(mktemp -d "${TMPDIR:-/tmp}/kiln-digests.XXXXXX")
source "$HERE/lib/common.sh"
source "$HERE/lib/bases.sh"
source "$HERE/lib/workloads.sh"
trap 'stop_registry; rm -rf "$BENCH_WORK"' EXIT

for name in busybox bookworm; do cached_base "$name" >/dev/null; done
make_contexts
start_registry
push_bases busybox bookworm
same=0 differ=0
for w in w1 w2 w3; do
    render_dockerfile "$w"
    digests=()
    for kiln in "$KILN_A" "$KILN_B"; do
        out="$BENCH_WORK/out-$w-$(echo "$kiln" | md5sum | cut -c1-8)"
        digest=$("$kiln" -c "$BENCH_WORK/ctx/$w" -f "$BENCH_WORK/ctx/$w/Dockerfile" --reproducible --no-push \
            --insecure-registry "$REGISTRY" --oci-layout-path "$out" "${EXTRA[@]}" 2>"$out.log") || { tail "$out.log" >&2; die "$kiln failed on $w"; }
        digests+=("$digest")
    done
    if [ "${digests[0]}" = "${digests[1]}" ]; then verdict=same; same=$((same + 1)); else verdict=DIFFERENT; differ=$((differ + 1)); fi
    printf '%s  %s  %s  %s\n' "$w" "${digests[0]}" "${digests[1]}" "$verdict"
done
echo "$same same, $differ different"
[ "$differ" = 0 ]
