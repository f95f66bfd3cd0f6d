#!/usr/bin/env bash
# Builds kiln and runs its main job on the built-in example: a FROM-scratch, multi-stage
# Dockerfile written to an OCI image layout (no registry needed). Prints the image digest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release
out=${1:-kiln-out/hello}
rm -rf "$out"
.build/release/kiln --context examples/hello --oci-layout-path "$out" --reproducible
echo "image written to $out (OCI layout)" >&2
