#!/usr/bin/env bash
# npm test: the whole suite (what CI runs). tap over every test file; then the op table and the
# model tests again under each lower SIMD tier this CPU executes (the kernels pick their tier at
# run time, so npm's tap run covers only the best one; TORL_SIMD caps it); then the same tests
# against the ASan + UBSan build of the CPU backend (scripts/check-asan.sh, ~3.5 min from
# scratch: skipped, and counted so, where the sanitizer runtimes are missing); then the typecheck.
# Ends with one "N passed, N failed, N skipped" line. With arguments: plain tap over them.
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] && exec npx tap "$@"

npx tap 2>&1 | tee /tmp/torl-test.log
status=${PIPESTATUS[0]}
count() { echo "$1" | grep -oE "$2: [0-9]+" | grep -oE '[0-9]+' || echo 0; }
summary=$(grep -E '^# \{ total' /tmp/torl-test.log | tail -1)
pass=$(count "$summary" pass); fail=$(count "$summary" fail); skip=$(count "$summary" skip)
[ "$status" -ne 0 ] && [ "$fail" = 0 ] && fail=1

best=$(node --input-type=module -e "console.log((await import('./dist/index.js')).backends().cpu.simd)" 2>/dev/null)
tiers="${best:-unknown} (the run above)"
for tier in avx2 scalar; do
  case "$best:$tier" in avx512:avx2 | avx512:scalar | avx2:scalar) ;; *) continue ;; esac
  TORL_SIMD=$tier npx tap --reporter=tap test/ops/ops.test.ts test/ops/gradcheck.test.ts test/model/ >/tmp/torl-test-$tier.log 2>&1
  tier_status=$?
  s=$(grep -E '^# \{ total' /tmp/torl-test-$tier.log | tail -1)
  p=$(count "$s" pass); f=$(count "$s" fail); k=$(count "$s" skip)
  [ "$tier_status" -ne 0 ] && { status=1; [ "$f" = 0 ] && f=1; grep -E '^\s*not ok' /tmp/torl-test-$tier.log | head -20; }
  pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + k))
  tiers="$tiers, $tier ($s)"
done
echo "SIMD tiers run: $tiers"

bash scripts/check-asan.sh >/tmp/torl-check-asan.out 2>&1
asan_status=$?
tail -1 /tmp/torl-check-asan.out
if [ "$asan_status" -eq 3 ]; then
  skip=$((skip + 1))
else
  s=$(grep -E '^# \{ total' /tmp/torl-asan.log 2>/dev/null | tail -1)
  p=$(count "$s" pass); f=$(count "$s" fail); k=$(count "$s" skip)
  [ "$asan_status" -ne 0 ] && { status=1; [ "$f" = 0 ] && f=1; tail -25 /tmp/torl-check-asan.out; }
  pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + k))
fi

if npm run --silent typecheck; then pass=$((pass + 1)); else fail=$((fail + 1)); status=1; fi
echo "$pass passed, $fail failed, $skip skipped"
exit "$status"
