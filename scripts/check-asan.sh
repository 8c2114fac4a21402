#!/usr/bin/env bash
# npm run check:asan: the CPU backend built with AddressSanitizer + UndefinedBehaviorSanitizer
# into build-asan/ (its own directory; build/ is untouched), then the op table and the model
# tests run against that addon (lib/native.ts loads the file TORL_ADDON names).
# Any ASan report or UBSan finding aborts the test process, so a clean run is a passing one.
# Exit status: 0 clean; 1 a test failed or the sanitizers reported; 2 the addon came out
# uninstrumented; 3 the compiler's sanitizer runtimes are not installed (scripts/test.sh: a skip).
# Takes ~3.5 min from scratch on 2 vCPUs (the build), ~40 s when build-asan/ is up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
rm -f /tmp/torl-asan.log  # scripts/test.sh reads the counts from it

# the compiler's sanitizer runtimes: linked into the addon, and (node itself is not
# instrumented) preloaded into node before anything else
asan=$(${CXX:-g++} -print-file-name=libasan.so 2>/dev/null || echo libasan.so)
ubsan=$(${CXX:-g++} -print-file-name=libubsan.so 2>/dev/null || echo libubsan.so)
for lib in "$asan" "$ubsan"; do
  [ -f "$lib" ] || { echo "check:asan: skipped: $lib not found (install the compiler's sanitizer runtimes)" >&2; exit 3; }
done

SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
# cmake-js passes its own -DCMAKE_CXX_FLAGS (replacing anything given there), so the sanitizer
# flags go in the per-configuration variable, which CMake also puts on the link line. -O1 -g:
# usable stack traces; no -DNDEBUG, so the asserts are on too.
FLAGS="-O1 -g $SAN"
cmakejs=node_modules/cmake-js/bin/cmake-js
node "$cmakejs" configure --out build-asan --CDTORL_CUDA=off \
  "--CDCMAKE_CXX_FLAGS_RELEASE=$FLAGS" "--CDCMAKE_C_FLAGS_RELEASE=$FLAGS" \
  "--CDCMAKE_SHARED_LINKER_FLAGS=$SAN"
CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) node "$cmakejs" build --out build-asan

addon=$PWD/build-asan/Release/torl.node
# refuse to run uninstrumented: the flags must have reached the compiler and the linker
syms=$(nm -D "$addon" 2>/dev/null || true)
if ! grep -q '__asan_init' <<<"$syms" || ! grep -q '__ubsan_handle' <<<"$syms"; then
  echo "check:asan: $addon is not instrumented (no __asan_init / __ubsan_handle_* symbols);" \
    "the sanitizer flags did not reach the build" >&2
  exit 2
fi

export TORL_ADDON=$addon
export LD_PRELOAD="$asan $ubsan"
# detect_leaks=0: node's own allocations (V8, libuv, the module loader) are still held at exit
# and would be reported as leaks that are not ours. Every other ASan check stays on.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
npx tap --reporter=tap test/ops/ops.test.ts test/ops/gradcheck.test.ts test/model/ >/tmp/torl-asan.log 2>&1 || status=$?
summary=$(grep -E '^# \{ total' /tmp/torl-asan.log | tail -1 || true)
if [ "$status" -ne 0 ]; then
  grep -nE 'ERROR: AddressSanitizer|runtime error:|^\s*not ok' /tmp/torl-asan.log | head -40 || true
  echo "check:asan: FAILED (full log: /tmp/torl-asan.log)"
fi
echo "check:asan: ${summary:-no tap summary} in $(($(date +%s) - start)) s (build included)"
exit "$status"
