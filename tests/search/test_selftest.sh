#!/bin/sh
# test_selftest.sh — `salient selftest` and the programs' start-up self-check:
# the table lists every kernel family for every ISA the CPU has and exits 0;
# a deliberately broken kernel (SALIENT_SELFTEST_BREAK) gives exit 1 there,
# and in `salient generate` one stderr line naming ISA and kernel, a fallback
# recorded in selftest.json, and the same image as a run forced to the next
# ISA; SALIENT_SELFTEST=0 skips the check. Needs no fixtures (random weights).
. "$(dirname "$0")/../lib.sh"
T=$SALIENT_TMP/test_selftest.$$
rm -rf "$T"; mkdir -p "$T"
SAL="$BIN/salient"

"$SAL" selftest --help > "$T/help" 2>&1; rc=$?
check "[ $rc -eq 0 ] && grep -q 'usage: salient selftest' '$T/help'" "--help: exit $rc"
"$SAL" selftest --nosuch > "$T/o" 2> "$T/e"; rc=$?
check "[ $rc -eq 2 ] && grep -q nosuch '$T/e'" "bad option: exit $rc"
"$SAL" selftest --isa mmx > "$T/o" 2> "$T/e"; rc=$?
check "[ $rc -eq 2 ] && grep -q mmx '$T/e'" "bad --isa: exit $rc"

"$SAL" selftest > "$T/table" 2> "$T/e"; rc=$?
check "[ $rc -eq 0 ]" "selftest: exit $rc ($(cat "$T/e"))"
top=$(awk 'NR == 2 { print $2 }' "$T/table")
check "[ -n '$top' ]" "selftest: no ISA in the table"
for k in conv3x3 conv1x1 tconv3x3s2 fir4x4 gemm wino3x3 wino_t3x3s2 idct resize; do
    check "grep -q '^$k  *generic .* yes ' '$T/table'" "selftest: no passing generic row for $k"
    check "grep -q '^$k  *$top .* yes ' '$T/table'" "selftest: no passing $top row for $k"
done
check "! grep -q ' NO ' '$T/table'" "selftest: a failed row"

SALIENT_SELFTEST_BREAK=$top:conv1x1 "$SAL" selftest > "$T/table2" 2> "$T/e"; rc=$?
check "[ $rc -eq 1 ] && grep -q '^conv1x1  *$top .* NO ' '$T/table2'" "broken $top conv1x1: exit $rc"
check "[ \$(grep -c ' NO ' '$T/table2') -eq 1 ]" "broken $top conv1x1: exactly one failed row"

# the start-up check of generate (needs a level below the top to fall back to)
"$BIN/weightconv" --random tiny "$T/tiny.blob" > /dev/null 2>&1
if [ "$top" != generic ]; then
    next=$( [ "$top" = avx512 ] && echo avx2 || echo generic )
    SALIENT_SELFTEST_BREAK=$top:conv3x3 "$SAL" generate --network "$T/tiny.blob" --seeds 3 --outdir "$T/broken" \
        --save-float > "$T/o" 2> "$T/e"; rc=$?
    check "[ $rc -eq 0 ]" "generate with a broken $top conv3x3: exit $rc"
    check "[ \$(grep -c 'self-check' '$T/e') -eq 1 ] && grep -q 'the $top conv3x3 kernel differs.*falling back to $next' '$T/e'" \
        "generate: message: $(cat "$T/e")"
    check "grep -q '\"chosen\": \"$next\"' '$T/broken/selftest.json' && grep -q '\"kernel\": \"conv3x3\"' '$T/broken/selftest.json'" \
        "generate: fallback not in selftest.json"
    SALIENT_ISA=$next "$SAL" generate --network "$T/tiny.blob" --seeds 3 --outdir "$T/next" --save-float > /dev/null 2>&1
    check "cmp -s '$T/broken/seed0003.npy' '$T/next/seed0003.npy'" "generate after the fallback differs from a $next run"
fi
"$SAL" generate --network "$T/tiny.blob" --seeds 3 --outdir "$T/fine" --save-float > "$T/o" 2> "$T/e"; rc=$?
check "[ $rc -eq 0 ] && ! grep -q self-check '$T/e' && [ ! -e '$T/fine/selftest.json' ]" "generate, all pass: no message, no record"
# (the ISAs sum in different orders: the comparison above can tell them apart)
[ "$top" != generic ] && check "! cmp -s '$T/fine/seed0003.npy' '$T/next/seed0003.npy'" "$top and $next runs are identical"
SALIENT_SELFTEST=0 SALIENT_SELFTEST_BREAK=$top:conv3x3 "$SAL" generate --network "$T/tiny.blob" --seeds 3 \
    --outdir "$T/skip" > "$T/o" 2> "$T/e"; rc=$?
check "[ $rc -eq 0 ] && ! grep -q self-check '$T/e' && [ ! -e '$T/skip/selftest.json' ]" "SALIENT_SELFTEST=0: skipped"

rm -rf "$T"
finish test_selftest
