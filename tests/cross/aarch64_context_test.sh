#!/usr/bin/env bash
# Runs tests/unit/context_test.cpp against the AArch64 register switch and the ucontext
# fallback, cross-compiled and run under qemu-user: the register switch is the one part of the
# runtime that differs per architecture, and this machine is x86-64.
# Usage: aarch64_context_test.sh SOURCE_ROOT WORK_DIR
set -euo pipefail
src=$1 work=$2
mkdir -p "$work"
for tool in aarch64-linux-gnu-g++ qemu-aarch64-static; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/test installs it)"; exit 1; }
done
build() {  # name, expected backend, sources...
  local name=$1 backend=$2; shift 2
  aarch64-linux-gnu-g++ -std=c++20 -O2 -static -I"$src/runtime" \
    -DGREENRUN_EXPECTED_BACKEND="\"$backend\"" "$src/tests/unit/context_test.cpp" "$@" \
    -o "$work/$name"
}
build context_test_aarch64 aarch64 "$src/runtime/context_frame_aarch64.cpp" "$src/runtime/context_aarch64.S"
build context_test_aarch64_ucontext ucontext "$src/runtime/context_ucontext.cpp"
status=0
for t in context_test_aarch64 context_test_aarch64_ucontext; do
  echo "== $t (qemu-aarch64)"
  qemu-aarch64-static "$work/$t" || status=1
done
exit $status
