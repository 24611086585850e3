#!/bin/sh
# test_bench.sh — `salient bench`: --help, bad options, and a --quick
# --kernels-only run on 1 thread whose bench.json must describe this machine
# (the CPU's family and model as /proc/cpuinfo says, the L2 size as sysfs
# says) and list timed kernel rows with positive GFLOP/s; a bad --json
# folder or --saliency model fails at once, before any timing.
# The sanitizer run checks the options only: timing kernels under ASan
# measures nothing.
. "$(dirname "$0")/../lib.sh"
ROOT=$(pwd)
SAL="$ROOT/$BIN/salient"
TMP="$ROOT/$SALIENT_TMP/test_bench${SALIENT_ASAN:+_asan}"
rm -rf "$TMP"; mkdir -p "$TMP"
check() { expect "$@"; }

"$SAL" bench --help > "$TMP/help.out"; rc=$?
check "--help: exit 0" [ $rc -eq 0 ]
check "--help mentions --kernels-only" grep -q -- "--kernels-only" "$TMP/help.out"
"$SAL" bench --bogus > "$TMP/o1" 2> "$TMP/e1"; rc=$?
check "unknown option: exit 2" [ $rc -eq 2 ]
check "unknown option: one line on stderr" [ "$(wc -l < "$TMP/e1")" -eq 1 ]
check "unknown option: names it" grep -q -- "--bogus" "$TMP/e1"
"$SAL" bench --threads 0 > "$TMP/o2" 2> "$TMP/e2"; rc=$?
check "--threads 0: exit 2" [ $rc -eq 2 ]
check "--threads 0: says what it wants" grep -q "threads" "$TMP/e2"
"$SAL" bench --threads > "$TMP/o3" 2> "$TMP/e3"; rc=$?
check "--threads without a value: exit 2" [ $rc -eq 2 ]
"$SAL" bench --json > "$TMP/o4" 2> "$TMP/e4"; rc=$?
check "--json without a path: exit 2" [ $rc -eq 2 ]
# bad paths fail at once (before any timing), naming the file
"$SAL" bench --quick --kernels-only --threads 1 --json "$TMP/nodir/b.json" > "$TMP/o5" 2> "$TMP/e5"; rc=$?
check "--json in a missing folder: exit 1" [ $rc -eq 1 ]
check "--json in a missing folder: one line naming it" \
    sh -c "[ \$(wc -l < '$TMP/e5') -eq 1 ] && grep -q 'nodir/b.json' '$TMP/e5'"
check "--json in a missing folder: nothing timed" [ ! -s "$TMP/o5" ]
check "--json in a missing folder: nothing written" [ ! -e "$TMP/nodir" ]
"$SAL" bench --json "$TMP/" > "$TMP/o6" 2> "$TMP/e6"; rc=$?
check "--json naming a folder: exit 2" [ $rc -eq 2 ]
"$SAL" bench --saliency "$TMP/missing.vxm" > "$TMP/o7" 2> "$TMP/e7"; rc=$?
check "--saliency missing: exit 1" [ $rc -eq 1 ]
check "--saliency missing: names it" grep -q "missing.vxm" "$TMP/e7"
check "--saliency missing: nothing timed" [ ! -s "$TMP/o7" ]
printf 'not a model' > "$TMP/junk.vxm"
"$SAL" bench --saliency "$TMP/junk.vxm" > "$TMP/o8" 2> "$TMP/e8"; rc=$?
check "--saliency junk: exit 1, one line" sh -c "[ $rc -eq 1 ] && [ \$(wc -l < '$TMP/e8') -eq 1 ]"
check "--saliency junk: nothing timed" [ ! -s "$TMP/o8" ]

if [ -z "$SALIENT_ASAN" ]; then
    J="$TMP/bench.json"
    "$SAL" bench --quick --kernels-only --threads 1 --json "$J" > "$TMP/run.out" 2> "$TMP/run.err"; rc=$?
    check "quick run: exit 0" [ $rc -eq 0 ]
    check "quick run: wrote the json" [ -s "$J" ]
    check "quick run: says where" grep -q "wrote $J" "$TMP/run.out"
    check "json: one thread" grep -q '"threads": 1,' "$J"
    # the CPU as the kernel reports it
    fam=$(awk -F: '/^cpu family/ { gsub(/[ \t]/, "", $2); print $2; exit }' /proc/cpuinfo 2>/dev/null)
    mod=$(awk -F: '/^model[ \t]*:/ { gsub(/[ \t]/, "", $2); print $2; exit }' /proc/cpuinfo 2>/dev/null)
    if [ -n "$fam" ] && [ -n "$mod" ]; then
        check "json: cpu family $fam, model $mod" grep -q "\"family\": $fam, \"model\": $mod," "$J"
        check "printed: cpu family" grep -q "x86 family $fam, model $mod" "$TMP/run.out"
    fi
    l2=""
    for d in /sys/devices/system/cpu/cpu0/cache/index*; do
        [ "$(cat "$d/level" 2>/dev/null)" = 2 ] && l2=$(cat "$d/size" 2>/dev/null)
    done
    case "$l2" in
    *K) check "json: L2 ${l2%K} KiB" grep -q "\"l2_kib\": ${l2%K}," "$J" ;;
    *M) check "json: L2 $l2" grep -q "\"l2_kib\": $((${l2%M} * 1024))," "$J" ;;
    esac
    # timed rows: every kernel row has ms > 0 and GFLOP/s > 0
    rows=$(grep -c '"kernel": ' "$J")
    check "json: at least 10 kernel rows ($rows)" [ "$rows" -ge 10 ]
    badrows=$(grep '"kernel": ' "$J" | awk -F'[:,]' '{
        for (i = 1; i < NF; i++) {
            if ($i ~ /"ms"/ && $(i + 1) + 0 <= 0) b++
            if ($i ~ /"gflops"/ && $(i + 1) + 0 <= 0) b++
        } } END { print b + 0 }')
    check "json: every row timed ($badrows bad)" [ "$badrows" -eq 0 ]
    check "json: the conv3x3 summary" grep -q '"conv3x3_64_1024_all": {"gflops": ' "$J"
    check "json: closes" [ "$(tail -n 1 "$J")" = "}" ]
fi

finish test_bench.sh
[ "$fail" -eq 0 ]
