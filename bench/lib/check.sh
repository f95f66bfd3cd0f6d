# --check: the images both tools pushed in run 1 must hold the same files. Sourced by
# bench/run.sh. Not a test suite (that is Tests/BuildTests' comparison tests), only a guard so
# a fast but wrong build cannot pass unnoticed in the table.

# keep_image TOOL WORKLOAD REFERENCE: copies a pushed image to an OCI layout before its
# registry goes away (not timed).
keep_image() {
    [ "${CHECK:-0}" = 1 ] || return 0
    mkdir -p "$BENCH_WORK/check"
    skopeo copy --quiet --src-tls-verify=false "docker://$3" "oci:$BENCH_WORK/check/$1-$2:img" \
        || FAILURES+=("check: could not copy $3")
}

# tree_listing DIR: path, type, mode, owner, size, link target and content hash of every entry,
# sorted. Directory sizes are left out (they depend on the file system, not the image).
tree_listing() {
    (cd "$1" && find . -printf '%p %y %m %U %G %l\n' | sort &&
        find . -type f -print0 | sort -z | xargs -0 -r sha256sum | awk '{ print "sha256 " $2 " " $1 }')
}

# compare_images: for each workload, unpack both tools' images (umoci applies whiteouts) and
# diff the listings. buildah leaves empty /etc/hosts, /etc/hostname, /etc/resolv.conf and /run
# in its images (its RUN bind-mount targets); those are ignored.
compare_images() {
    local w a b unpacked=ok
    for w in $WORKLOADS; do
        [ -d "$BENCH_WORK/check/kiln-$w" ] && [ -d "$BENCH_WORK/check/buildah-$w" ] || continue
        for t in kiln buildah; do
            umoci unpack --image "$BENCH_WORK/check/$t-$w:img" "$BENCH_WORK/check/$t-$w.bundle" >/dev/null 2>&1 || unpacked=
            tree_listing "$BENCH_WORK/check/$t-$w.bundle/rootfs" |
                grep -Ev '^(sha256 )?\./(etc/hosts|etc/hostname|etc/resolv\.conf|run)( |$)' >"$BENCH_WORK/check/$t-$w.list"
        done
        a="$BENCH_WORK/check/kiln-$w.list"; b="$BENCH_WORK/check/buildah-$w.list"
        if [ -z "$unpacked" ]; then
            CHECK_RESULTS+=("$w: umoci could not unpack an image")
        elif cmp -s "$a" "$b"; then
            CHECK_RESULTS+=("$w: same $(grep -vc '^sha256 ' "$a") entries (type, mode, owner, link, content)")
        else
            CHECK_RESULTS+=("$w: DIFFERENT: $(diff "$a" "$b" | grep -c '^[<>]') lines differ, first: $(diff "$a" "$b" | grep -m3 '^[<>]' | tr '\n' ' ')")
            FAILURES+=("check: kiln's and buildah's $w images differ")
        fi
        rm -rf "$BENCH_WORK/check/kiln-$w.bundle" "$BENCH_WORK/check/buildah-$w.bundle"
    done
}
