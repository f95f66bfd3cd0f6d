#!/usr/bin/env bash
# Builds kiln's own image with kiln, from image/Dockerfile: kiln and its plugins, the Swift
# runtime they load (through an $ORIGIN-relative RUNPATH), the C libraries they link, CA
# certificates, and kaniko's paths (/kaniko/executor, /kaniko/.docker).
#
# Usage: scripts/image.sh OUT.tar [--debug] [--configuration release|debug] [--bin DIR] [--tag NAME]
#        scripts/image.sh --destination REF [--debug] [kiln flags for the push…]
#   OUT.tar        a docker-archive (`podman load -i OUT.tar`), tagged NAME (default kiln:latest,
#                  kiln:debug with --debug)
#   --debug        the :debug variant, with a busybox shell under /busybox (GitLab's script:)
#   --destination  push to a registry instead (further arguments go to kiln)
#   --bin DIR      use the kiln and plugins already built in DIR (the tests pass their own)
set -euo pipefail
cd "$(dirname "$0")/.."

out="" config=release target=executor tag="" destination="" bin=""
extra=()
while (($#)); do
    case "$1" in
        --debug) target=debug ;;
        --configuration) config=$2; shift ;;
        --tag) tag=$2; shift ;;
        --bin) bin=$2; shift ;;
        --destination) destination=$2; shift ;;
        -*) extra+=("$1") ;;
        *) if [[ -z $out && -z $destination ]]; then out=$1; else extra+=("$1"); fi ;;
    esac
    shift
done
[[ -n $out || -n $destination ]] || { echo "usage: scripts/image.sh OUT.tar [--debug] | --destination REF [--debug]" >&2; exit 2; }
[[ -n $tag ]] || tag="kiln:$([[ $target == debug ]] && echo debug || echo latest)"

scripts/setup.sh --image
if [[ -z $bin ]]; then
    swift build -c "$config" >&2
    bin=$(swift build -c "$config" --show-bin-path)
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/kiln-image.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/rootfs
mkdir -p "$root"/kaniko/{lib,plugins,ssl/certs,.docker} "$root"/etc/ssl/certs "$root"/root "$root"/workspace "$root"/tmp
chmod 1777 "$root/tmp"
chmod 700 "$root/root"

install -m 755 "$bin/kiln" "$root/kaniko/executor"
# libKilnYAML.so (Yams and Foundation, opened only to read a YAML file) is found as plugins are.
for p in "$bin"/libKilnPlugin*.so "$bin/libKilnYAML.so"; do install -m 755 "$p" "$root/kaniko/plugins/"; done
install -m 755 "$bin/libPluginAPI.so" "$root/kaniko/lib/"

swift_runtime=$(dirname "$(ldd "$bin/kiln" | awk '/libswiftCore.so/ {print $3}')")
# Every library the executable and the plugins load: the Swift runtime goes to /kaniko/lib,
# system libraries keep their path (the loader's default directories, so their own
# dependencies resolve without a RUNPATH of theirs).
for lib in $(ldd "$bin/kiln" "$bin"/libKilnPlugin*.so "$bin/libKilnYAML.so" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u); do
    case "$lib" in
        "$swift_runtime"/*) install -m 755 "$(readlink -f "$lib")" "$root/kaniko/lib/$(basename "$lib")" ;;
        "$bin"/*) ;;
        *) mkdir -p "$root$(dirname "$lib")"; install -m 755 "$(readlink -f "$lib")" "$root$lib" ;;
    esac
done
# The dynamic loader, at the path every ELF file names (PT_INTERP).
interp=$(patchelf --print-interpreter "$bin/kiln")
mkdir -p "$root$(dirname "$interp")"
install -m 755 "$(readlink -f "$interp")" "$root$interp"

# SwiftPM builds with -g: debug information is more than half of kiln's own files. The symbol
# tables stay (backtraces keep their names).
strip --strip-debug "$root/kaniko/executor" "$root"/kaniko/plugins/*.so "$root/kaniko/lib/libPluginAPI.so"

# $ORIGIN-relative RUNPATHs: nothing points into the toolchain any more.
patchelf --set-rpath '$ORIGIN/lib' "$root/kaniko/executor"
for p in "$root"/kaniko/plugins/*.so; do patchelf --set-rpath '$ORIGIN/../lib' "$p"; done
for l in "$root"/kaniko/lib/*.so; do patchelf --set-rpath '$ORIGIN' "$l"; done

cp -L /etc/ssl/certs/ca-certificates.crt "$root/kaniko/ssl/certs/ca-certificates.crt"
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/busybox/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"

if [[ $target == debug ]]; then
    mkdir -p "$stage/busybox"
    install -m 755 /bin/busybox "$stage/busybox/busybox"
    for applet in $(/bin/busybox --list); do
        [[ $applet == busybox ]] || ln -s busybox "$stage/busybox/$applet"
    done
fi

kiln_args=(--context "$stage" --dockerfile image/Dockerfile --target "$target" --reproducible --isolation chroot)
if [[ -n $destination ]]; then
    "$bin/kiln" "${kiln_args[@]}" --destination "$destination" "${extra[@]}"
else
    "$bin/kiln" "${kiln_args[@]}" --destination "$tag" --no-push --tar-path "$out" "${extra[@]}"
    echo "kiln image $tag written to $out ($(du -h "$out" | cut -f1)); load it with: podman load -i $out" >&2
fi
