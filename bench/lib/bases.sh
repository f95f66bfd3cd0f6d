# Base images for the bench, made with tools independent of kiln and pushed with skopeo.
# Sourced by bench/run.sh. Each OCI layout is cached under BENCH_CACHE (one directory per
# package version), built in a staging directory and renamed into place, so an interrupted
# run never leaves half a cache entry.

BASES_FORMAT=1  # bump when what goes into a base changes

# pack_rootfs ROOTFS LAYOUT CMD: one layer with the whole root, PATH and CMD in the config.
pack_rootfs() {
    local rootfs=$1 layout=$2 cmd=$3
    chmod 0755 "$rootfs"
    umoci init --layout "$layout"
    umoci new --image "$layout:latest"
    umoci insert --image "$layout:latest" "$rootfs" / >/dev/null
    umoci config --image "$layout:latest" --author=kiln-bench \
        --config.env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.cmd="$cmd"
    umoci gc --layout "$layout"
}

# busybox_rootfs DIR: Debian's static busybox, an applet symlink per command, passwd, group.
busybox_rootfs() {
    local root=$1 applet
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,var,home}
    install -d -m 0700 "$root/root"
    install -d -m 1777 "$root/tmp"
    install -m 0755 /bin/busybox "$root/bin/busybox"
    for applet in $(/bin/busybox --list-full); do
        [ "$applet" = bin/busybox ] || ln -s /bin/busybox "$root/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

# bookworm_rootfs DIR: debootstrap minbase without device nodes, apt lists or apt caches,
# as Debian's own images ship it.
bookworm_rootfs() {
    local root=$1
    debootstrap --variant=minbase bookworm "$root" "${KILN_DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
        >"$BENCH_WORK/debootstrap.log" 2>&1 || { tail -20 "$BENCH_WORK/debootstrap.log" >&2; die "debootstrap failed"; }
    find "$root/dev" "$root/var/lib/apt/lists" "$root/var/cache/apt/archives" -mindepth 1 -delete
    rm -f "$root"/var/cache/apt/*.bin
}

# cached_base NAME: prints the layout path, making it first if it is not cached.
cached_base() {
    local name=$1 package version key layout staging rootfs
    case $name in
        busybox) package=busybox-static ;;
        bookworm) package=debootstrap ;;
    esac
    version=$(dpkg-query -W -f='${Version}' "$package" 2>/dev/null) || die "apt-get install $package"
    key="$name-v$BASES_FORMAT-$(printf '%s' "$version" | tr -c 'A-Za-z0-9.' _)"
    layout="$BENCH_CACHE/$key"
    if [ ! -f "$layout/index.json" ]; then
        say "making base image $name (cached afterwards in $layout)"
        mkdir -p "$BENCH_CACHE" || die "cannot create $BENCH_CACHE: set KILN_BENCH_CACHE"
        rootfs="$BENCH_WORK/rootfs-$name"
        staging="$BENCH_CACHE/.$key.$$"
        rm -rf "$staging"
        case $name in
            busybox) busybox_rootfs "$rootfs"; pack_rootfs "$rootfs" "$staging" sh ;;
            bookworm) bookworm_rootfs "$rootfs"; pack_rootfs "$rootfs" "$staging" bash ;;
        esac
        rm -rf "$rootfs"
        mv "$staging" "$layout"
    fi
    echo "$layout"
}

# push_bases NAME...: each base to REGISTRY as NAME:latest (busybox, bookworm).
push_bases() {
    local name layout
    for name in "$@"; do
        layout=$(cached_base "$name")
        skopeo copy --quiet --dest-tls-verify=false "oci:$layout:latest" "docker://$REGISTRY/$name:latest" \
            || die "skopeo could not push $name"
    done
}
