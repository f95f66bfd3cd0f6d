# Push throughput: kiln pushing the 200 MB image of workload (iii) vs `skopeo copy` of the very
# same blobs (the OCI layout kiln wrote in the same build) into an empty registry. Sourced by
# bench/run.sh; appends "push RUN kiln_s skopeo_s bytes kiln_push_rss_kb kiln_peak_kb skopeo_kb"
# to BENCH_WORK/push-samples.
#
# kiln's push time is the span between its "pushing" and "pushed" log lines (timestamped by
# the bench as they arrive, so build time is left out); its memory during the push is the
# largest VmRSS sampled every 50 ms in that span. skopeo is timed as a whole process.

push_test() {
    local run=$1 out="$BENCH_WORK/out/push-$run" kpid spid rc=0 layout bytes start stop
    mkdir -p "$out/work"
    layout="$out/layout"
    fresh_registry ""
    say "push test $run/$RUNS: kiln builds and pushes (iii)"
    render_dockerfile w3
    mkfifo "$out/fifo"
    stamp <"$out/fifo" >"$out/log" &
    spid=$!
    TMPDIR="$out/work" "$KILN" -c "$BENCH_WORK/ctx/w3" -f "$BENCH_WORK/ctx/w3/Dockerfile" \
        -d "$REGISTRY/push-kiln-r$run:run$run" --insecure-registry "$REGISTRY" \
        --oci-layout-path "$layout" --kaniko-dir "$out/work" >"$out/fifo" 2>&1 &
    kpid=$!
    sample_rss "$kpid" >"$out/rss"
    wait "$kpid" || rc=$?
    wait "$spid" || true
    rm -rf "$out/work"
    if [ "$rc" != 0 ]; then
        tail -30 "$out/log" >&2
        FAILURES+=("push test run $run: kiln exit $rc"); return 0
    fi
    start=$(awk '$2 == "INFO" && $3 == "pushing" { print $1; exit }' "$out/log")
    stop=$(awk '$2 == "INFO" && $3 == "pushed" { print $1; exit }' "$out/log")
    [ -n "$start" ] && [ -n "$stop" ] || { FAILURES+=("push test run $run: no pushing/pushed lines in kiln's log"); return 0; }
    bytes=$(layout_bytes "$layout")

    fresh_registry ""
    say "push test $run/$RUNS: skopeo copy of the same layout"
    /usr/bin/time -f "$TIME_FORMAT" -o "$out/skopeo.time" skopeo copy --quiet --dest-tls-verify=false \
        "oci:$layout" "docker://$REGISTRY/push-skopeo-r$run:run$run" >"$out/skopeo.log" 2>&1 ||
        { cat "$out/skopeo.log" >&2; FAILURES+=("push test run $run: skopeo failed"); return 0; }
    rm -rf "$layout"
    echo "push $run $(awk -v a="$start" -v b="$stop" 'BEGIN { printf "%.3f", b - a }') $(tail -1 "$out/skopeo.time" | cut -d' ' -f1) $bytes" \
        "$(awk -v a="$start" -v b="$stop" '$1 >= a && $1 <= b && $2 > m { m = $2 } END { print m + 0 }' "$out/rss")" \
        "$(awk '$2 > m { m = $2 } END { print m + 0 }' "$out/rss") $(tail -1 "$out/skopeo.time" | cut -d' ' -f2)" >>"$BENCH_WORK/push-samples"
}

# sample_rss PID: "epoch-seconds rss-kB" every 50 ms while PID lives (bash builtins only, so
# the sampler itself costs little).
sample_rss() {
    local pid=$1 key value _
    while kill -0 "$pid" 2>/dev/null; do
        while read -r key value _; do
            [ "$key" = VmRSS: ] && { echo "$EPOCHREALTIME $value"; break; }
        done <"/proc/$pid/status" 2>/dev/null || true
        sleep 0.05
    done
}

# layout_bytes LAYOUT: bytes of every blob the image's manifest names (layers and config).
layout_bytes() {
    local layout=$1 manifest
    manifest=$(jq -r '.manifests[0].digest' "$layout/index.json" | sed 's|:|/|')
    jq '[.layers[].size, .config.size] | add' "$layout/blobs/$manifest"
}
