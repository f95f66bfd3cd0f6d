# One timed build per call, for kiln and for buildah. Sourced by bench/run.sh.
# Each call appends "tool workload run seconds maxrss_kb user_s sys_s" to BENCH_WORK/samples.
#
# Time and memory come from GNU time (-f '%e %M %U %S'; user and system CPU seconds cover the
# whole tree). %M is ru_maxrss from wait4(): the peak
# resident set of the largest single process in the tree (the tool and every descendant it
# waited for), not the sum of processes alive at the same moment.

TIME_FORMAT='%e %M %U %S'

# timed OUT COMMAND...: runs COMMAND under GNU time (result in OUT/time) with its output
# timestamped line by line into OUT/log and its start time in OUT/start; returns its status.
timed() {
    local out=$1 spid rc=0; shift
    rm -f "$out/fifo"; mkfifo "$out/fifo"
    stamp <"$out/fifo" >"$out/log" &
    spid=$!
    echo "$EPOCHREALTIME" >"$out/start"
    /usr/bin/time -f "$TIME_FORMAT" -o "$out/time" "$@" >"$out/fifo" 2>&1 || rc=$?
    wait "$spid" || true
    rm -f "$out/fifo"
    return "$rc"
}

# kiln_build WORKLOAD RUN LABEL [kiln flags...]: a cold build pushed to a fresh repository.
# settle: waits SETTLE seconds before a timed build. On an ext4 without a journal (this
# machine's), the kernel will not hand out an inode freed in the last 60 s, 300 s while its
# inode table block is still dirty (RECENTCY_MIN/RECENTCY_DIRTY, recently_deleted() in
# fs/ext4/ialloc.c), and looks past every such inode instead: right after the previous
# build's files were removed, creating files costs whichever tool comes next up to two seconds
# of system time. Dirty inode tables are written back within ~35 s, so 70 s covers both.
settle() { if [ "${SETTLE:-0}" -gt 0 ]; then sleep "$SETTLE"; fi; }

kiln_build() {
    settle
    local w=$1 run=$2 label=$3; shift 3
    local ctx="$BENCH_WORK/ctx/$w" out="$BENCH_WORK/out/$label-$w-$run" rc=0
    mkdir -p "$out/work"
    render_dockerfile "$w"
    TMPDIR="$out/work" timed "$out" \
        "$KILN" -c "$ctx" -f "$ctx/Dockerfile" -d "$REGISTRY/$label-$w-r$run:run$run" \
        --insecure-registry "$REGISTRY" --kaniko-dir "$out/work" -v debug "$@" || rc=$?
    rm -rf "$out/work"
    if [ "$rc" != 0 ]; then
        tail -30 "$out/log" >&2
        say "kiln failed on $w (run $run, exit $rc); log kept in $out/log"
        FAILURES+=("$label $w run $run: exit $rc")
        return 0
    fi
    echo "$label $w $run $(tail -1 "$out/time")" >>"$BENCH_WORK/samples"
    [ "$label" = kiln ] && [ "$run" = 1 ] && keep_image kiln "$w" "$REGISTRY/$label-$w-r$run:run$run"
    return 0
}

# buildah_build WORKLOAD RUN: bud (chroot isolation, --layers, overlay) then push, both timed
# together, in a storage directory that starts empty and is removed afterwards, so no run
# finds a layer of an earlier one (--layers never hits its cache).
buildah_build() {
    settle
    local w=$1 run=$2
    local ctx="$BENCH_WORK/ctx/$w" out="$BENCH_WORK/out/buildah-$w-$run" rc=0
    local tag="localhost/bench-$w:run$run" dest="docker://$REGISTRY/buildah-$w-r$run:run$run"
    mkdir -p "$out"
    render_dockerfile "$w"
    BUILDAH_STORE="$out/storage"
    local store=(--root "$BUILDAH_STORE/root" --runroot "$BUILDAH_STORE/runroot" --storage-driver overlay)
    BUILDAH_ISOLATION=chroot TMPDIR="$out" timed "$out" \
        bash -c 'set -e; buildah "${@:3}" bud --isolation chroot --layers --format oci --tls-verify=false \
                     -f "$1/Dockerfile" -t "$2" "$1"
                 echo "bench: buildah push"
                 buildah "${@:3}" push --tls-verify=false "$2" "$0"' \
        "$dest" "$ctx" "$tag" "${store[@]}" || rc=$?
    remove_buildah_store
    if [ "$rc" != 0 ]; then
        tail -30 "$out/log" >&2
        say "buildah failed on $w (run $run, exit $rc); log kept in $out/log"
        FAILURES+=("buildah $w run $run: exit $rc")
        return 0
    fi
    echo "buildah $w $run $(tail -1 "$out/time")" >>"$BENCH_WORK/samples"
    [ "$run" = 1 ] && keep_image buildah "$w" "${dest#docker://}"
    return 0
}

# Removes the current buildah storage: containers, images, leftover overlay mounts, files.
remove_buildah_store() {
    [ -n "${BUILDAH_STORE:-}" ] && [ -d "$BUILDAH_STORE" ] || return 0
    local store=(--root "$BUILDAH_STORE/root" --runroot "$BUILDAH_STORE/runroot" --storage-driver overlay)
    buildah "${store[@]}" rm --all >/dev/null 2>&1 || true
    buildah "${store[@]}" rmi --all --force >/dev/null 2>&1 || true
    awk -v p="$BUILDAH_STORE/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf "$BUILDAH_STORE"
    BUILDAH_STORE=
}
