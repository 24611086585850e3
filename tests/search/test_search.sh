#!/bin/sh
# test_search.sh — `salient search` end to end on the fixture generators with
# the real saliency model: scores equal candidate_crops on the written PNGs,
# the accept rules hold, results are identical across thread counts and after
# a kill + --resume, and `salient report` rebuilds the same summary.
# Runs with $BIN = bin or build-asan/bin; prints "N passed, N failed".
. "$(dirname "$0")/../lib.sh"
FX=$SALIENT_SHARED/fixtures/stylegan2
VXM=$SALIENT_SHARED/data/fastgaze.vxm
need_shared fixtures/stylegan2 && need_shared data/fastgaze.vxm || { finish test_search; exit $((fail > 0)); }
T=$SALIENT_TMP/test_search.$$
rm -rf "$T"; mkdir -p "$T"
# the date line of index.html: fixed, so folders made on different days compare equal
export SOURCE_DATE_EPOCH=1700000000

# Under the sanitizers everything runs ~10x slower: fewer seeds there, and
# in `make test` (not test-full) also fewer candidates, improve steps and
# shards -- the same checks on smaller runs.
# CC_SEEDS: the seeds whose frames are scored again by candidate_crops (under
# the sanitizers in `make test` one seed's three frames).
SEEDS=0-2; LAST=0002; CAND=3; IMP_STEPS=4; SHARDS=3; SMALL_CAND=2; LIST="0000 0001 0002"; CC_SEEDS=$LIST
if [ -n "${SALIENT_ASAN:-}" ]; then
    SEEDS=0-1; LAST=0001; LIST="0000 0001"; CC_SEEDS=$LIST
    full || { CAND=1; IMP_STEPS=2; SHARDS=2; SMALL_CAND=1; CC_SEEDS=0000; }
elif ! full; then
    CAND=2; IMP_STEPS=3
fi
TINY=$T/tiny.blob
$BIN/weightconv "$FX/tiny/tiny.pkl" "$TINY" >/dev/null 2>&1 || bad "weightconv tiny"

run() { # outdir, extra args...
    d=$1; shift
    $BIN/salient search --network "$TINY" --saliency "$VXM" --outdir "$d" -q "$@"
}

# --- a 3-seed run, 3 steps x 4 candidates ---------------------------------
run "$T/a" --seeds $SEEDS --steps 2 --candidates $CAND --sigma 0.5 --threads 2 2>"$T/a.err"
check '[ $? -eq 0 ]' "search run failed: $(cat "$T/a.err")"
for s in $LIST; do
    for f in step00.png step02.png latents.npy log.csv strip.png plot.png result.json; do
        check "[ -s '$T/a/seed$s/$f' ]" "missing seed$s/$f"
    done
done
check "[ -s '$T/a/summary.csv' ] && [ -s '$T/a/index.html' ]" "missing summary.csv / index.html"
check "[ \$(wc -l < '$T/a/summary.csv') -eq \$((2 + ${LAST#000})) ]" "summary.csv should have one row per seed"
check "grep -q 'Saliency increase: ' '$T/a/index.html'" "index.html lacks the increase line"

# --- every frame's recorded score equals candidate_crops on its PNG --------
maxdiff=$(for s in $CC_SEEDS; do
    for k in 0 1 2; do
        png=$T/a/seed$s/step0$k.png
        # the current score after step k: chosen row of step k (rule best: always one)
        rec=$(awk -F, -v k=$k 'NR>1 && $1==k && $6==1 {print $3}' "$T/a/seed$s/log.csv")
        cc=$($BIN/candidate_crops "$VXM" "$png" show_all_points 2>/dev/null | awk 'NR>1 && NF==3 {if (m=="" || $3>m) m=$3} END {print m}')
        awk -v a="$rec" -v b="$cc" 'BEGIN {d=a-b; if (d<0) d=-d; if (a=="" || b=="") d=99; print d}'
    done
done | sort -g | tail -n 1)
check "awk -v d='$maxdiff' 'BEGIN {exit !(d <= 2e-5)}'" "recorded max saliency differs from candidate_crops by $maxdiff"

# --- accept rule 'best': each step's chosen row is the step's maximum -----
check "awk -F, 'NR>1 && \$1>0 { if (!(\$1 in m) || \$3>m[\$1]) m[\$1]=\$3; if (\$6==1) c[\$1]=\$3; n[\$1]++ }
     END { for (s in m) if (c[s]!=m[s]) exit 1; exit 0 }' '$T/a/seed0000/log.csv'" "best rule: chosen is not the maximum"

# --- accept rule 'improve': the current score never decreases -------------
run "$T/imp" --seeds 1 --steps $IMP_STEPS --candidates $CAND --sigma 2 --accept improve 2>"$T/imp.err"
check '[ $? -eq 0 ]' "improve run failed: $(cat "$T/imp.err")"
check "awk -F, 'NR>1 { if (\$1==0) cur=\$3; else if (\$6==1) { if (\$3<=cur) exit 1; cur=\$3 } }
     END { exit 0 }' '$T/imp/seed0001/log.csv'" "improve rule accepted a worse candidate"
check "awk -F, 'NR>1 && \$1>0 { if (\$3>best[\$1]||!(\$1 in best)) best[\$1]=\$3; if (\$6==1) ch[\$1]=1 } NR>1 && \$1==0 {cur=\$3}
     END { exit 0 }' '$T/imp/seed0001/log.csv'" "improve log unreadable"

# --- same results with 1 thread ------------------------------------------
# (under the sanitizers in `make test`: in test_search_arms.sh, min arm)
if [ -z "${SALIENT_ASAN:-}" ] || full; then
run "$T/b" --seeds $SEEDS --steps 2 --candidates $CAND --sigma 0.5 --threads 1 2>"$T/b.err"
check '[ $? -eq 0 ]' "1-thread run failed"
check "diff -r '$T/a' '$T/b' >/dev/null" "outputs differ between --threads 2 and --threads 1"
fi

# --- kill mid-run, resume, identical results ------------------------------
# started directly (not through run(): $! would be the subshell and kill -9 would leave salient running)
$BIN/salient search --network "$TINY" --saliency "$VXM" --outdir "$T/c" -q --seeds $SEEDS --steps 2 --candidates $CAND --sigma 0.5 2>/dev/null &
pid=$!
i=0
while [ $i -lt 600 ] && [ ! -s "$T/c/seed0001/state.json" ]; do sleep 0.05; i=$((i+1)); done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
check "[ ! -s '$T/c/summary.csv' ]" "run finished before it could be killed (test is not testing resume)"
run "$T/c" --seeds $SEEDS --steps 2 --candidates $CAND --sigma 0.5 2>/dev/null
check "[ \$? -ne 0 ]" "a second run into the same folder without --resume must refuse"
run "$T/c" --seeds $SEEDS --steps 2 --candidates $CAND --sigma 0.5 --resume 2>"$T/c.err"
check '[ $? -eq 0 ]' "resume failed: $(cat "$T/c.err")"
rm -f "$T"/c/seed*/*.tmp.*
check "diff -r '$T/a' '$T/c' >/dev/null" "resumed run differs from an uninterrupted one"
run "$T/c" --seeds $SEEDS --steps 2 --candidates $CAND --sigma 0.5 --resume 2>/dev/null
check "diff -r '$T/a' '$T/c' >/dev/null" "resuming a finished run changed it"
run "$T/c" --seeds 0-2 --steps 3 --candidates 5 --sigma 0.5 --resume 2>"$T/c2.err"
check "[ \$? -ne 0 ] && grep -q 'other options' '$T/c2.err'" "resume with other options must refuse"

# --- report rebuilds the same summary and page ----------------------------
cp "$T/a/summary.csv" "$T/summary.ref"; cp "$T/a/index.html" "$T/index.ref"
rm "$T/a/summary.csv" "$T/a/index.html"
$BIN/salient report "$T/a" 2>/dev/null
check "cmp -s '$T/a/summary.csv' '$T/summary.ref' && cmp -s '$T/a/index.html' '$T/index.ref'" "report output differs"

# --- shards merge to the same summary -------------------------------------
i=0; while [ $i -lt $SHARDS ]; do run "$T/s" --seeds $SEEDS --steps 2 --candidates $CAND --sigma 0.5 --shard $i/$SHARDS 2>/dev/null; i=$((i+1)); done
check "cmp -s '$T/s/summary.csv' '$T/summary.ref'" "sharded runs give another summary"
check "diff -r '$T/a/seed0001' '$T/s/seed0001' >/dev/null" "sharded seed folder differs"

# --- w and w+ spaces, sigma file, the small fixture ---------------------------
run "$T/w" --seeds 3 --steps 2 --candidates $CAND --space w+ 2>"$T/w.err"
check '[ $? -eq 0 ]' "w+ run failed: $(cat "$T/w.err")"
check "head -c 200 '$T/w/seed0003/latents.npy' | grep -q \"'shape': (3, 8, 64)\"" "w+ latents.npy shape"
printf '\223NUMPY\001\000v\000{\047descr\047: \047<f4\047, \047fortran_order\047: False, \047shape\047: (3,), }                                                            \012\315\314\314=\315\314\314=\315\314\314=' > "$T/bad_sigma.npy"
run "$T/x" --seeds 0 --sigma-file "$T/bad_sigma.npy" 2>"$T/x.err"
check "[ \$? -ne 0 ] && [ \$(wc -l < '$T/x.err') -eq 1 ] && grep -q 'has 3 values' '$T/x.err'" "bad sigma file: want one error line, got: $(cat "$T/x.err")"
$BIN/weightconv "$FX/small/small.pkl" "$T/small.blob" >/dev/null 2>&1
$BIN/salient search --network "$T/small.blob" --saliency "$VXM" --outdir "$T/sm" -q --seeds 0 --steps 1 --candidates $SMALL_CAND --trunc 0.7 2>"$T/sm.err"
check '[ $? -eq 0 ] && [ -s "$T/sm/seed0000/result.json" ]' "small fixture run failed: $(cat "$T/sm.err")"

# --- --fast (Winograd): same search within 1e-3 of max saliency, recorded --------
$BIN/salient search --network "$T/small.blob" --saliency "$VXM" --outdir "$T/smf" -q --seeds 0 --steps 1 --candidates $SMALL_CAND --trunc 0.7 --fast 2>"$T/smf.err"
check '[ $? -eq 0 ] && grep -q "\"fast\": true" "$T/smf/seed0000/result.json"' "fast run failed or not recorded: $(cat "$T/smf.err")"
fd=$(paste -d, "$T/sm/seed0000/log.csv" "$T/smf/seed0000/log.csv" | awk -F, 'NR>1 {d=$3-$10; if (d<0) d=-d; if (d>m) m=d} END {print m+0}')
check "awk -v d='$fd' 'BEGIN {exit !(d <= 1e-3)}'" "--fast changed max saliency by $fd"
$BIN/salient search --network "$T/small.blob" --saliency "$VXM" --outdir "$T/sm" -q --seeds 0 --steps 1 --candidates $SMALL_CAND --trunc 0.7 --fast --resume 2>"$T/smf2.err"
check "[ \$? -ne 0 ] && grep -q 'other options' '$T/smf2.err'" "resuming an exact run with --fast must refuse"

# --- bad arguments: one clear line, nonzero exit, no output folder -----------
for args in "--seeds 0" "--network $TINY --saliency $VXM --seeds x" "--network $TINY --saliency $VXM --seeds 0 --space q" \
            "--network /nonexistent.pkl --saliency $VXM --seeds 0" "--network $TINY --saliency $TINY --seeds 0" \
            "--network $TINY --saliency $VXM --seeds 0 --steps -1" "--network $TINY --saliency $VXM --seeds 0 --bogus"; do
    $BIN/salient search $args --outdir "$T/err" 2>"$T/e.txt"
    rc=$?
    check "[ $rc -ne 0 ] && [ \$(wc -l < '$T/e.txt') -eq 1 ]" "bad args '$args': exit $rc, stderr: $(cat "$T/e.txt")"
done
check "[ ! -e '$T/err' ]" "a failed run left its output folder (it is made only after loading)"
$BIN/salient search --help | grep -q -- '--accept'; check '[ $? -eq 0 ]' "--help"

rm -rf "$T"
finish test_search
