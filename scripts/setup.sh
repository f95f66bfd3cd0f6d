#!/usr/bin/env bash
# Installs the Debian packages kiln and its tests need, when any is missing. Idempotent.
# Usage: scripts/setup.sh [--tests | --image]
set -euo pipefail

build_pkgs=(libarchive-dev libcurl4-openssl-dev libssl-dev libseccomp-dev libdeflate-dev libisal-dev zlib1g-dev pkg-config)
test_pkgs=(skopeo umoci podman buildah runc docker-registry busybox-static debootstrap
           apache2-utils openssl python3 python3-cryptography zstd bzip2 xz-utils
           libcap2-bin uidmap iproute2 curl tar gzip qemu-user-static patchelf catatonit)
image_pkgs=(patchelf busybox-static ca-certificates binutils)

want=("${build_pkgs[@]}")
# git: the git source tests serve repositories with git daemon and git http-backend.
if [[ "${1:-}" == "--tests" ]]; then want+=("${test_pkgs[@]}" git); fi
if [[ "${1:-}" == "--image" ]]; then want+=("${image_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}" >&2
    SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ "${1:-}" == "--tests" ]]; then
    # podman on this kind of machine: runc (crun refuses hybrid cgroups), cgroupfs, file events,
    # host network, explicit ulimits (no CAP_SYS_RESOURCE). Written only when absent.
    conf=/etc/containers/containers.conf
    if [[ ! -s $conf ]] || ! grep -q 'kiln-tests' "$conf"; then
        mkdir -p /etc/containers
        [[ -s $conf ]] && cp "$conf" "$conf.kiln-backup"
        cat > "$conf" <<'CONF'
# kiln-tests: settings podman needs on this CI machine
[containers]
netns = "host"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
    fi
fi
