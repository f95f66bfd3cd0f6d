# The printed result: medians side by side, push throughput, raw samples, and where kiln's
# time goes. Sourced by bench/run.sh; reads BENCH_WORK/samples and BENCH_WORK/push-samples.

# stat TOOL WORKLOAD FIELD: median of FIELD (4 = seconds, 5 = max RSS kB) over the runs.
stat_of() {
    awk -v t="$1" -v w="$2" -v f="$3" '$1 == t && $2 == w { print $f }' "$BENCH_WORK/samples" | median
}

# cpu_of TOOL WORKLOAD: median user + system CPU seconds.
cpu_of() {
    awk -v t="$1" -v w="$2" '$1 == t && $2 == w { print $6 + $7 }' "$BENCH_WORK/samples" | median
}

row() {
    local label=$1 tool=$2 w=$3 ks bs km bm tr mr
    ks=$(stat_of "$tool" "$w" 4); bs=$(stat_of buildah "$w" 4)
    km=$(stat_of "$tool" "$w" 5 | awk '{ printf "%.0f", $1 / 1024 }')
    bm=$(stat_of buildah "$w" 5 | awk '$1 != "nan" { printf "%.0f", $1 / 1024 }')
    tr=$(ratio "$ks" "$bs"); mr=$(ratio "$km" "$bm")
    printf '%-46s %8s %8s %6s %s  %7s %7s %6s %s  %6s %6s\n' "$label" "$ks" "$bs" "$tr" "$(verdict "$tr" 0.5)" \
        "$km" "${bm:--}" "$mr" "$(verdict "$mr" 1.0)" "$(cpu_of "$tool" "$w")" "$(cpu_of buildah "$w")"
}

# verdict RATIO LIMIT: "ok" when RATIO <= LIMIT, "MISS" otherwise.
verdict() { awk -v r="$1" -v l="$2" 'BEGIN { if (r == "-") print "    "; else if (r + 0 <= l + 0) print "ok  "; else print "MISS" }'; }

label_of() {
    case $1 in
        w1) echo "(i)   busybox: 5 RUN, COPY 50 files" ;;
        w2) echo "(ii)  bookworm: 2000 files, rm, 20 MB, --from" ;;
        w3) echo "(iii) scratch: COPY 10,000 files / 200 MB" ;;
    esac
}

report() {
    local w
    echo "kiln bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $RUNS run(s) per cell, cold (fresh registry and buildah storage per build)"
    echo "$("$KILN" version 2>/dev/null | head -1 || echo "kiln ?") ($KILN, built from $(cat "$(dirname "$KILN")/kiln-bench.commit" 2>/dev/null || echo "an unrecorded commit")); $(buildah --version); $(skopeo --version)"
    echo "storage: $(if [ "$TMPFS" = 1 ]; then echo "tmpfs (--tmpfs)"; else findmnt -no FSTYPE,OPTIONS -T "$BENCH_WORK" | cut -c1-60; fi) for contexts, registry and both tools' storage"
    [ "${SETTLE:-0}" -gt 0 ] && echo "each timed build started ${SETTLE} s after the previous one's files were removed (--settle)"
    echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r); load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "wall time: median seconds of build + push; peak RSS: median of GNU time %M (largest single process), MB;"
    echo "CPU: median user + system seconds of the whole process tree"
    echo "targets: kiln/buildah time <= 0.50, RSS <= 1.00"
    printf '%-46s %8s %8s %6s %s  %7s %7s %6s %s  %6s %6s\n' workload "kiln s" "buildah" ratio "    " "kiln MB" buildah ratio "    " "kiln" "buildah"
    printf '%-46s %8s %8s %6s %s  %7s %7s %6s %s  %13s\n' "" "wall" "wall" "" "    " "RSS" "RSS" "" "    " "CPU s (u+s)"
    for w in $WORKLOADS; do
        row "$(label_of "$w")" kiln "$w"
        [ "$w" = w2 ] && row "(ii)  same, kiln --snapshot-mode time" kiln-time w2
    done
    if [ -s "$BENCH_WORK/push-samples" ]; then
        echo
        push_report
    fi
    echo
    echo "samples (tool workload run wall-s maxrss-kB user-s sys-s):"
    sed 's/^/  /' "$BENCH_WORK/samples"
    [ -s "$BENCH_WORK/push-samples" ] && sed 's/^/  /' "$BENCH_WORK/push-samples"
    echo
    attribution_report
    if [ ${#CHECK_RESULTS[@]} -gt 0 ]; then
        echo
        echo "--check, run-1 images of kiln vs buildah (buildah's empty /etc/hosts, hostname, resolv.conf, /run ignored):"
        printf '  %s\n' "${CHECK_RESULTS[@]}"
    fi
    if [ ${#FAILURES[@]} -gt 0 ]; then
        echo
        echo "FAILURES:"
        printf '  %s\n' "${FAILURES[@]}"
    fi
}

push_report() {
    local f="$BENCH_WORK/push-samples" ks ss bytes kr km sm kt st
    ks=$(awk '{ print $3 }' "$f" | median); ss=$(awk '{ print $4 }' "$f" | median)
    bytes=$(awk '{ print $5 }' "$f" | median)
    kr=$(awk '{ print $6 }' "$f" | median); km=$(awk '{ print $7 }' "$f" | median); sm=$(awk '{ print $8 }' "$f" | median)
    kt=$(awk -v b="$bytes" -v s="$ks" 'BEGIN { printf "%.0f", b / 1e6 / s }')
    st=$(awk -v b="$bytes" -v s="$ss" 'BEGIN { printf "%.0f", b / 1e6 / s }')
    echo "push of the (iii) image, $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }') MB compressed, into an empty local registry (median of $RUNS):"
    echo "  kiln   $ks s = $kt MB/s  (its \"pushing\" to \"pushed\" log lines)"
    echo "  skopeo $ss s = $st MB/s  (skopeo copy of the OCI layout kiln wrote in the same build, whole process)"
    echo "  throughput ratio kiln/skopeo $(ratio "$kt" "$st")"
    echo "  kiln peak RSS during the push $(awk -v k="$kr" 'BEGIN { printf "%.0f", k / 1024 }') MB (whole build $(awk -v k="$km" 'BEGIN { printf "%.0f", k / 1024 }') MB); skopeo $(awk -v k="$sm" 'BEGIN { printf "%.0f", k / 1024 }') MB"
}

# phases TOOL OUTDIR: seconds per phase of one build, from the timestamped log (each line
# carries the time it was written), the start time and GNU time's total.
#   kiln:    pull (resolve + download), extract (base layers into a root, plus the first
#            snapshot state), run (RUN command + snapshot walk), layer (RUN layer: tar +
#            compress + digest), copy (COPY/ADD: copy + layer), push, exit (after the image
#            is pushed: removing the working directory), other (start-up, checks, metadata)
#   buildah: pull, run, copy, commit (each step's layer commit is inside its step; this is the
#            final COMMIT), push (the whole `buildah push` process), other
phases() {
    local tool=$1 out=$2 total user sys
    read -r total _ user sys < <(tail -1 "$out/time")
    awk -v tool="$tool" -v start="$(cat "$out/start")" -v total="$total" -v user="$user" -v sys="$sys" '
        function enter(p, t) { sum[cur] += t - since; cur = p; since = t }
        BEGIN { cur = "other"; since = start }
        tool == "kiln" && ($2 == "INFO" || $2 == "DEBU") {
            t = $1; line = substr($0, index($0, $2))
            if ($3 == "resolving") enter("pull", t)
            else if ($3 == "extracting") enter("extract", t)
            else if (line ~ /STEP [0-9]+\/[0-9]+: RUN /) enter("run", t)
            else if (line ~ /STEP [0-9]+\/[0-9]+: (COPY|ADD) /) enter("copy", t)
            else if (line ~ /STEP [0-9]+\/[0-9]+: /) enter("other", t)
            else if ($3 == "snapshot:" && cur == "run") enter("layer", t)
            else if ($3 == "layer" && (cur == "layer" || cur == "copy")) enter("other", t)
            else if ($3 == "pushing") enter("push", t)
            else if ($3 == "pushed") enter("other", t)
            else if ($2 == "INFO" && $3 == "image") enter("exit", t)
            else if (line ~ /^INFO \[[0-9]+\/[0-9]+\] FROM /) enter("other", t)
        }
        tool == "buildah" {
            t = $1; line = substr($0, index($0, $2))
            if (line ~ /STEP [0-9]+\/[0-9]+: FROM /) enter("pull", t)
            else if (line ~ /STEP [0-9]+\/[0-9]+: RUN /) enter("run", t)
            else if (line ~ /STEP [0-9]+\/[0-9]+: (COPY|ADD) /) enter("copy", t)
            else if (line ~ /STEP [0-9]+\/[0-9]+: /) enter("other", t)
            else if (line ~ /COMMIT /) enter("commit", t)
            else if (line ~ /^Successfully tagged/) enter("other", t)
            else if (line ~ /^bench: buildah push/) enter("push", t)
        }
        END {
            enter("done", start + total)
            n = split("pull extract run layer copy commit push exit other", order, " ")
            for (i = 1; i <= n; i++) if (order[i] in sum && sum[order[i]] >= 0.005) printf "%s %.2f  ", order[i], sum[order[i]]
            printf "(total %.2f; CPU user %s sys %s)\n", total, user, sys
        }' "$out/log"
}

# For each tool and workload, the phases of its median-time run.
attribution_report() {
    local tool w run median
    echo "where the time goes (the run with the median time; seconds):"
    for w in $WORKLOADS; do
        for tool in kiln kiln-time buildah; do
            [ "$tool" = kiln-time ] && [ "$w" != w2 ] && continue
            median=$(stat_of "$tool" "$w" 4)
            run=$(awk -v t="$tool" -v w="$w" -v m="$median" '$1 == t && $2 == w { d = $4 - m; if (d < 0) d = -d; if (best == "" || d < best) { best = d; r = $3 } } END { print r }' "$BENCH_WORK/samples")
            [ -n "$run" ] || continue
            printf '  %-4s %-10s run %s: %s\n' "$w" "$tool" "$run" "$(phases "${tool%-time}" "$BENCH_WORK/out/$tool-$w-$run")"
        done
    done
}
