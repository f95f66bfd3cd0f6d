#!/usr/bin/env bash
# Long fuzzing runs with libFuzzer (the bounded runs in `swift test` are Tests/FuzzTests):
#   Tests/Fuzz/libfuzzer/run-libfuzzer.sh dockerfile|dockerignore [seconds]
# Compiles Sources/Dockerfile with Targets.swift using -sanitize=fuzzer,address, then fuzzes
# from the seed corpus in Tests/Fuzz/<target>/ (read only; new coverage goes to a scratch
# directory). A crashing input is written to Tests/Fuzz/<target>/crash-<sha1>: keep it there
# with the fix.
set -euo pipefail
cd "$(dirname "$0")/../../.."
target=${1:?usage: $0 dockerfile|dockerignore [seconds]}
seconds=${2:-60}
work=$(mktemp -d "${TMPDIR:-/tmp}/kiln-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mapfile -t sources < <(find Sources/Dockerfile -name '*.swift' | sort)
swiftc -sanitize=fuzzer,address -parse-as-library -module-name Dockerfile -O \
    "${sources[@]}" Tests/Fuzz/libfuzzer/Targets.swift -o "$work/fuzz"
mkdir "$work/corpus"
KILN_FUZZ_TARGET=$target "$work/fuzz" "$work/corpus" "Tests/Fuzz/$target" \
    -max_total_time="$seconds" -max_len=300000 -timeout=20 -rss_limit_mb=4096 \
    -artifact_prefix="Tests/Fuzz/$target/crash-"
