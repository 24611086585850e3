#!/bin/sh
# tests/run.sh — runs every test program (normal and ASan/UBSan builds) and
# every shell test (with bin/ and with build-asan/bin), then prints the
# overall "N passed, N failed, N skipped" line.
# Each test prints its own "<name>: N passed, N failed, N skipped" last line
# (", N skipped" may be absent: 0); a test that crashes or prints no summary
# counts as one failure. A test's "skipped: ..." lines (a missing optional
# program or fixture set, see tests/check.h) are shown here, once each.
# Usage: sh tests/run.sh [filter]   (filter: substring of the test path)
# SALIENT_FULL=1 (make test-full): full sizes and repetitions.
cd "$(dirname "$0")/.." || exit 1
filter=${1:-}
: "${SALIENT_SHARED:=../shared}"; export SALIENT_SHARED
: "${SALIENT_TMP:=build/tmp}"; export SALIENT_TMP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$SALIENT_TMP"
total_p=0; total_f=0; total_s=0
log=$SALIENT_TMP/run.log
: > "$log"
run_start=$(date +%s)

run_one() { # label, command...
    label=$1; shift
    case "$label" in *"$filter"*) ;; *) return ;; esac
    start=$(date +%s)
    out=$("$@" 2>"$SALIENT_TMP/stderr.txt"); rc=$?
    end=$(date +%s)
    line=$(printf '%s\n' "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    p=$(printf '%s' "$line" | sed -E 's/^(.*[^0-9])?([0-9]+) passed, ([0-9]+) failed.*/\2/')
    f=$(printf '%s' "$line" | sed -E 's/^(.*[^0-9])?([0-9]+) passed, ([0-9]+) failed.*/\3/')
    s=$(printf '%s' "$line" | sed -nE 's/.* failed, ([0-9]+) skipped.*/\1/p')
    [ -n "$s" ] || s=0
    [ -n "$line" ] || { p=0; f=1; }
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + s))
    skips=
    [ "$s" -eq 0 ] || skips=", $s skipped"
    if [ "$f" -ne 0 ]; then
        echo "FAILED  $label ($p passed, $f failed$skips, exit $rc, $((end-start))s)"
        printf '%s\n' "$out" | tail -n 20
        tail -n 30 "$SALIENT_TMP/stderr.txt"
    else
        echo "ok      $label ($p checks$skips, $((end-start))s)"
        printf '%s\n' "$out" | grep '^skipped: ' | sed 's/^/        /'
    fi
    { echo "== $label"; printf '%s\n' "$out"; cat "$SALIENT_TMP/stderr.txt"; } >> "$log"
}

for flavour in build build-asan; do
    for t in $(find $flavour/tests -type f -name 'test_*' 2>/dev/null | sort); do
        [ -x "$t" ] || continue
        run_one "$t" "$t"
    done
done
for t in $(find tests -name 'test_*.sh' | sort); do
    run_one "$t" env BIN=bin sh "$t"
    run_one "$t [asan]" env BIN=build-asan/bin SALIENT_ASAN=1 sh "$t"
done
echo "full log: $log ($(( $(date +%s) - run_start )) s)"
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" -eq 0 ]
