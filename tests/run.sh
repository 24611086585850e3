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
# SALIENT_JOBS=N: tests run N at a time (default: the number of cores); the
# report keeps the list order. Each flavour has its own scratch folder
# (build/tmp, build-asan/tmp), so a test never meets its other flavour there.
cd "$(dirname "$0")/.." || exit 1
filter=${1:-}
: "${SALIENT_SHARED:=../shared}"; export SALIENT_SHARED
: "${SALIENT_TMP:=build/tmp}"
TMP_ASAN=${SALIENT_TMP_ASAN:-build-asan/tmp}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Tests run side by side (one per core): OpenMP threads that wait at a barrier
# sleep instead of spinning, so they leave the cores to the other test (a
# quarter less CPU time on the small networks, no slower).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
jobs=${SALIENT_JOBS:-$(nproc 2>/dev/null || echo 1)}
case "$jobs" in ''|*[!0-9]*|0) jobs=1 ;; esac
mkdir -p "$SALIENT_TMP" "$TMP_ASAN"
log=$SALIENT_TMP/run.log
: > "$log"
run_start=$(date +%s)
work=$SALIENT_TMP/run.work
rm -rf "$work"; mkdir -p "$work"

# The list: one line per test, "label<TAB>tmp<TAB>command...". The slow
# sanitizer runs come first, so the last tests to start are short ones.
list=$work/list
: > "$list"
add() { # label, scratch folder, command...
    label=$1; tmpd=$2; shift 2
    case "$label" in *"$filter"*) ;; *) return ;; esac
    printf '%s\t%s\t%s\n' "$label" "$tmpd" "$*" >> "$list"
}
for t in $(find tests -name 'test_*.sh' | sort); do
    add "$t [asan]" "$TMP_ASAN" env BIN=build-asan/bin SALIENT_ASAN=1 sh "$t"
done
for t in $(find build-asan/tests -type f -name 'test_*' 2>/dev/null | sort); do
    [ -x "$t" ] && add "$t" "$TMP_ASAN" "$t"
done
for t in $(find tests -name 'test_*.sh' | sort); do
    add "$t" "$SALIENT_TMP" env BIN=bin sh "$t"
done
for t in $(find build/tests -type f -name 'test_*' 2>/dev/null | sort); do
    [ -x "$t" ] && add "$t" "$SALIENT_TMP" "$t"
done
n=$(wc -l < "$list")

# One test: its stdout, stderr, exit code and seconds into $work/N.*
run_index() { # N (1-based line of the list)
    i=$1
    entry=$(sed -n "${i}p" "$list")
    tmpd=$(printf '%s' "$entry" | cut -f2)
    cmd=$(printf '%s' "$entry" | cut -f3-)
    start=$(date +%s)
    # shellcheck disable=SC2086
    SALIENT_TMP=$tmpd $cmd > "$work/$i.out" 2> "$work/$i.err" < /dev/null
    echo $? > "$work/$i.rc"
    echo $(( $(date +%s) - start )) > "$work/$i.sec"
}
# A worker takes the next untaken test until none is left; mkdir is the lock.
worker() {
    while :; do
        i=0
        while ! mkdir "$work/lock" 2>/dev/null; do sleep 0.05; done
        next=$(cat "$work/next" 2>/dev/null || echo 1)
        echo $((next + 1)) > "$work/next"
        rmdir "$work/lock"
        [ "$next" -le "$n" ] || break
        run_index "$next"
        # progress: one line per finished test (the report below keeps the list order)
        echo "  [$next/$n] $(sed -n "${next}p" "$list" | cut -f1) ($(cat "$work/$next.sec")s)" >&2
    done
}
echo 1 > "$work/next"
k=0
while [ $k -lt "$jobs" ]; do worker & k=$((k + 1)); done
wait

# The report, in list order.
total_p=0; total_f=0; total_s=0
i=1
while [ $i -le "$n" ]; do
    label=$(sed -n "${i}p" "$list" | cut -f1)
    out=$(cat "$work/$i.out" 2>/dev/null); rc=$(cat "$work/$i.rc" 2>/dev/null || echo 1)
    sec=$(cat "$work/$i.sec" 2>/dev/null || echo 0)
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
        echo "FAILED  $label ($p passed, $f failed$skips, exit $rc, ${sec}s)"
        printf '%s\n' "$out" | tail -n 20
        tail -n 30 "$work/$i.err"
    else
        echo "ok      $label ($p checks$skips, ${sec}s)"
        printf '%s\n' "$out" | grep '^skipped: ' | sed 's/^/        /'
    fi
    { echo "== $label"; printf '%s\n' "$out"; cat "$work/$i.err"; } >> "$log"
    i=$((i + 1))
done
echo "full log: $log ($(( $(date +%s) - run_start )) s, $jobs at a time)"
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" -eq 0 ]
