#!/usr/bin/env bash
# The shared runtime as a user gets it: install into a scratch prefix, find it with pkg-config,
# build demos/api_tour.cpp against the installed headers and library only, and run it.
# Usage: check_install.sh SOURCE_ROOT BUILD_ROOT
set -euo pipefail
src=$1 build=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --destdir "$dest" --no-rebuild >/dev/null
pc=$(dirname "$(find "$dest" -name greenrun-runtime.pc | head -n 1)")
[ -n "$pc" ] || { echo "no greenrun-runtime.pc installed"; exit 1; }
prefix_in_pc=$(PKG_CONFIG_PATH=$pc pkg-config --variable=prefix greenrun-runtime)
flags=$(PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$dest pkg-config --cflags --libs greenrun-runtime)
echo "pkg-config: $flags"
g++ -std=c++20 -O1 "$src/demos/api_tour.cpp" $flags -o "$dest/api_tour"
libdir=$(dirname "$(find "$dest" -name 'libgreenrun-runtime.so' | head -n 1)")
output=$(LD_LIBRARY_PATH=$libdir "$dest/api_tour")
echo "$output"
grep -q "greenlet consumer summed to 10" <<<"$output"
grep -q "sum 499500" <<<"$output"
echo "installed under $prefix_in_pc: headers, library and pkg-config file work"
