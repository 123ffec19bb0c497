# shellcheck shell=bash
# trx_summary DIR EXPECTED_COUNT: sums the <Counters> of every TRX file in DIR and prints the one
# closing line CI reads: "N passed, N failed, N skipped". Returns non-zero when anything failed,
# when no test ran, or when fewer TRX files exist than test projects ran (a crashed test host).
trx_summary() {
  local dir="$1" expected="$2" passed=0 failed=0 skipped=0 files=0 f counters get
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  for f in "$dir"/*.trx; do
    [ -f "$f" ] || continue
    files=$((files + 1))
    counters=$(grep -o '<Counters [^>]*>' "$f" | head -1)
    passed=$((passed + $(get passed)))
    failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
    skipped=$((skipped + $(get notExecuted)))
  done
  if [ "$files" -lt "$expected" ]; then
    echo "[test] expected $expected TRX result files, found $files: a test host crashed or a project did not run" >&2
    failed=$((failed + expected - files))
  fi
  echo "$passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}
