#!/usr/bin/env bash
# Runs kiln's whole test suite on a fresh Debian 12 machine (as root): installs what the tests
# need, builds everything, runs every test. Test fixtures that are slow to make (the debootstrap
# base image) are cached under $KILN_TEST_CACHE (default /var/cache/kiln-tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
export KILN_TEST_CACHE=${KILN_TEST_CACHE:-/var/cache/kiln-tests}
# Everything temporary (the tests', kiln's, and the toolchain's own TemporaryDirectory.* that
# SwiftPM and Foundation leave behind) goes under one directory removed at the end.
TMPDIR="$(mktemp -d /tmp/kt.XXXXXX)"  # short: podman refuses a runroot path over 50 characters
export TMPDIR
# mktemp makes it 0700; tests that check what another local user can reach (a kept
# --kaniko-dir) need its parents traversable, as /tmp itself is.
chmod 755 "$TMPDIR"
trap 'rm -rf "$TMPDIR"' EXIT
mkdir -p "$KILN_TEST_CACHE"
# House style (.swift-format): any finding fails the run.
swift format lint --strict --recursive Sources Plugins Tests
swift build --build-tests
# Swift Testing runs suites in parallel; the machine has 2 cores.
swift test --skip-build --no-parallel "$@"
