#!/usr/bin/env bash
# The multi-arch numbers of the closing notes, kiln only: a small workload (busybox base, RUN
# steps with a shell loop and file writes, a COPY) built on this machine
#   (a) for linux/amd64 alone (native RUN),
#   (b) for linux/arm64 alone (RUN under QEMU user mode),
#   (c) for both in one invocation (one index),
# each RUNS times, median wall time. (a)+(b) against (c) is "two separate builds against one
# two-platform build"; (b) against (a) is the emulation overhead of RUN.
#
# Usage: sudo bench/multiarch.sh [KILN] [RUNS]   (default: .build/debug/kiln, 3 runs)
# Needs qemu-user-static, busybox-static, umoci, skopeo, docker-registry, apt-get (arm64
# busybox-static is downloaded into a private apt directory; dpkg's architectures are untouched).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
KILN=${1:-$HERE/../.build/debug/kiln}
RUNS=${2:-3}
BENCH_CACHE=${KILN_BENCH_CACHE:-/var/cache/kiln-bench}
BENCH_WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/kiln-multiarch.XXXXXX")
source "$HERE/lib/common.sh"
source "$HERE/lib/bases.sh"
trap 'stop_registry; rm -rf "$BENCH_WORK"' EXIT

# arm64 busybox: Debian's package through a private apt configuration, cached beside the bases.
arm64_busybox() {
    local apt="$BENCH_CACHE/apt-arm64" deb
    deb=$(ls "$BENCH_CACHE"/busybox-static_*_arm64.deb 2>/dev/null | tail -1 || true)
    if [ -z "$deb" ]; then
        mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
        local opts=(-o "APT::Architectures::=arm64" -o "APT::Architecture=arm64" -o "Dir::State::Lists=$apt/lists"
            -o "Dir::Cache=$apt/cache" -o "Dir::State::status=/dev/null" -o "APT::Sandbox::User=root" -q)
        apt-get "${opts[@]}" update >/dev/null
        (cd "$BENCH_CACHE" && apt-get "${opts[@]}" download busybox-static:arm64 >/dev/null)
        deb=$(ls "$BENCH_CACHE"/busybox-static_*_arm64.deb | tail -1)
    fi
    mkdir -p "$BENCH_WORK/deb" && dpkg -x "$deb" "$BENCH_WORK/deb"
    echo "$BENCH_WORK/deb/bin/busybox"
}

start_registry
push_bases busybox
busybox=$(arm64_busybox)
root="$BENCH_WORK/rootfs-arm64"
mkdir -p "$root"/{bin,etc,tmp,root}
install -m 0755 "$busybox" "$root/bin/busybox"
for applet in sh echo cat seq mkdir sha256sum uname; do ln -s busybox "$root/bin/$applet"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
pack_rootfs "$root" "$BENCH_WORK/arm64-layout" sh >/dev/null
umoci config --image "$BENCH_WORK/arm64-layout:latest" --architecture arm64 --os linux
skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false "docker://$REGISTRY/busybox:latest" "docker://$REGISTRY/multi:amd64"
skopeo copy --quiet --dest-tls-verify=false "oci:$BENCH_WORK/arm64-layout:latest" "docker://$REGISTRY/multi:arm64"
"$KILN" manifest push from-args --platforms linux/amd64,linux/arm64 --template "$REGISTRY/multi:ARCH" \
    --target "$REGISTRY/multi:latest" >/dev/null 2>&1 || die "kiln manifest failed"

ctx="$BENCH_WORK/ctx"
mkdir -p "$ctx/files"
for i in $(seq 1 20); do head -c 100000 /dev/urandom | base64 >"$ctx/files/f$i"; done
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $REGISTRY/multi:latest
RUN i=0; while [ \$i -lt 20000 ]; do i=\$((i+1)); done; echo \$i > /count
RUN mkdir -p /data && for f in \$(seq 1 200); do echo "line \$f" > /data/f\$f; done && sha256sum /data/* > /sums
COPY files/ /files/
DOCKERFILE

build() {  # LABEL PLATFORMS
    local start end
    start=$(date +%s.%N)
    "$KILN" -c "$ctx" --custom-platform "$2" -d "$REGISTRY/app:$1-$RANDOM" >"$BENCH_WORK/$1.log" 2>&1 || { tail "$BENCH_WORK/$1.log" >&2; die "$1 failed"; }
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}
for label in amd64 arm64 both; do : >"$BENCH_WORK/times-$label"; done
for run in $(seq 1 "$RUNS"); do
    build amd64 linux/amd64 >>"$BENCH_WORK/times-amd64"
    build arm64 linux/arm64 >>"$BENCH_WORK/times-arm64"
    build both linux/amd64,linux/arm64 >>"$BENCH_WORK/times-both"
done
a=$(median <"$BENCH_WORK/times-amd64"); b=$(median <"$BENCH_WORK/times-arm64"); c=$(median <"$BENCH_WORK/times-both")
printf 'median of %s runs, wall seconds (kiln %s)\n' "$RUNS" "$KILN"
printf '  (a) linux/amd64 alone (native RUN)       %6.2f\n' "$a"
printf '  (b) linux/arm64 alone (RUN under QEMU)   %6.2f   emulation overhead (b)/(a): %s\n' "$b" "$(ratio "$b" "$a")"
printf '  (c) both, one invocation (one index)     %6.2f   against (a)+(b) = %6.2f: %s\n' "$c" "$(echo "$a + $b" | bc)" "$(ratio "$c" "$(echo "$a + $b" | bc)")"
