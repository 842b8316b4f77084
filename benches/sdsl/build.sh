#!/usr/bin/env bash
# Build the sdsl-lite reference harness.
# usage: build.sh [BUILD_DIR]   (default: benches/sdsl/build)
# Needs libsdsl-dev and libdivsufsort-dev (see install.sh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD_DIR="${1:-$HERE/build}"
CXX="${CXX:-g++}"

if [ ! -f /usr/include/sdsl/suffix_arrays.hpp ]; then
    echo "sdsl headers not found; run $HERE/install.sh first" >&2
    exit 1
fi

mkdir -p "$BUILD_DIR"
# The binary is a build product, never committed.
[ -f "$BUILD_DIR/.gitignore" ] || printf '*\n!.gitignore\n' > "$BUILD_DIR/.gitignore"

# Debian's libsdsl (2.1.1) is a shared lib; the sdsl headers call divsufsort /
# divsufsort64 directly (construct_sa.hpp), so both must be linked explicitly.
"$CXX" -O3 -DNDEBUG -std=c++14 \
    "$HERE/sdsl_bench.cpp" \
    -lsdsl -ldivsufsort -ldivsufsort64 \
    -o "$BUILD_DIR/sdsl_bench.tmp.$$"
mv -f "$BUILD_DIR/sdsl_bench.tmp.$$" "$BUILD_DIR/sdsl_bench"
echo "$BUILD_DIR/sdsl_bench"
