#!/bin/sh
# test_search_arms.sh — the control arms of `salient search` on the tiny
# fixture generator: --accept random moves to the candidate its own per-step
# stream names (the same whatever sigma, threads or batch; a resume checks
# every recorded pick against the rule and refuses a changed one),
# --objective min picks each step's minimum and with --accept improve never
# goes up; both arms are recorded in run.json / result.json, the study's
# arm writes no new key; kill + --resume and 1 vs 2 threads give the same
# bytes; shards merge; bad combinations are refused in one line.
# Then the report: index.html is well-formed (balanced tags, checked by awk
# below) and carries the header (network, sha256, options, version), the
# aggregate line, captioned frames with the salient point and the plot.
# Runs with $BIN = bin or build-asan/bin; prints "N passed, N failed".
. "$(dirname "$0")/../lib.sh"
FX=$SALIENT_SHARED/fixtures/stylegan2
need_shared fixtures/stylegan2/tiny && need_shared data/fastgaze.vxm || { finish test_search_arms; exit 0; }
VXM=$SALIENT_SHARED/data/fastgaze.vxm
T=$SALIENT_TMP/test_search_arms.$$
rm -rf "$T"; mkdir -p "$T"
# the page's date line: fixed, so folders made at different times compare equal
export SOURCE_DATE_EPOCH=1700000000

# `make test-full`: 3 seeds, 4 steps x 4 candidates (2 seeds under the
# sanitizers). `make test`: 2 steps x 2 candidates, 3 steps of the min arm
# (2 under the sanitizers, on one seed), and under the sanitizers (an image
# takes a second there) the runs that repeat a code path already run --
# another --rng-seed, the random arm at 1 thread, kill + --resume and shards
# (sanitized in test_search.sh) -- are left to the normal build: the same
# checks on smaller runs.
SEEDS=0-2; LAST=0002; RSTEPS=4; K=4; MSEEDS=$SEEDS; MLIST="0000 0001 0002"; MSTEPS=3; REPEATS=1
ISTEPS=5; IK=3
if [ -n "${SALIENT_ASAN:-}" ]; then
    SEEDS=0-1; LAST=0001; MSEEDS=$SEEDS; MLIST="0000 0001"
fi
if ! full; then
    RSTEPS=2; K=2; ISTEPS=3; IK=2
    if [ -n "${SALIENT_ASAN:-}" ]; then MSEEDS=0; MLIST=0000; MSTEPS=2; REPEATS=0; fi
fi
TINY=$T/tiny.blob
$BIN/weightconv "$FX/tiny/tiny.pkl" "$TINY" >/dev/null 2>&1 || bad "weightconv tiny"

run() { # outdir, extra args...
    d=$1; shift
    $BIN/salient search --network "$TINY" --saliency "$VXM" --outdir "$d" -q "$@"
}
# "step:candidate" of each step's chosen row (step 0 left out)
picks() { awk -F, 'NR>1 && $1>0 && $6==1 {printf "%s:%s ", $1, $2}' "$1"; }

# --- --accept random ---------------------------------------------------------
RND="--seeds $SEEDS --steps $RSTEPS --candidates $K --accept random"
run "$T/r1" $RND --sigma 0.5 --threads 2 2>"$T/r1.err"
check '[ $? -eq 0 ]' "random run failed: $(cat "$T/r1.err")"
check "grep -q '\"accept\": \"random\"' '$T/r1/run.json' && grep -q '\"accept\": \"random\"' '$T/r1/seed0000/result.json'" \
    "random arm not recorded in run.json / result.json"
check "! grep -q objective '$T/r1/run.json'" "the random arm wrote an objective key"
for s in 0000 0001 $LAST; do
    check "awk -F, 'NR>1 && \$1>0 {n[\$1]++; c[\$1]+=\$6} END {for (t=1; t<=$RSTEPS; t++) if (n[t]!=$K || c[t]!=1) exit 1}' '$T/r1/seed$s/log.csv'" \
        "seed$s: random arm must move every step (one chosen row of $K)"
done
# no selection: over all steps the pick is not always the step's maximum
notmax=$(for s in 0000 0001 $LAST; do
    awk -F, 'NR>1 && $1>0 { if (!($1 in m) || $3>m[$1]) m[$1]=$3; if ($6==1) c[$1]=$3 } END { for (t in m) if (c[t]<m[t]) n++; print n+0 }' "$T/r1/seed$s/log.csv"
done | awk '{s+=$1} END {print s}')
check "[ '$notmax' -gt 0 ]" "random arm always picked the maximum ($notmax steps otherwise): it is selecting"
# the pick depends only on (rng seed, seed, step, K): not on sigma, threads or batch
run "$T/r2" $RND --sigma 1.5 --threads 1 --batch 3 2>/dev/null
for s in 0000 0001 $LAST; do
    a=$(picks "$T/r1/seed$s/log.csv"); b=$(picks "$T/r2/seed$s/log.csv")
    check "[ -n '$a' ] && [ '$a' = '$b' ]" "seed$s: picks differ between sigma 0.5 and 1.5: '$a' vs '$b'"
done
check "! cmp -s '$T/r1/seed0000/log.csv' '$T/r2/seed0000/log.csv'" "sigma 1.5 gave the same candidates as 0.5"
if [ $REPEATS = 1 ]; then
run "$T/r3" $RND --sigma 0.5 --rng-seed 7 2>/dev/null
check "[ \"\$(picks '$T/r1/seed0000/log.csv')\$(picks '$T/r1/seed0001/log.csv')\" != \"\$(picks '$T/r3/seed0000/log.csv')\$(picks '$T/r3/seed0001/log.csv')\" ]" \
    "another --rng-seed made the same picks"
fi
# a resume checks every recorded pick against the rule (search_random_choice)
run "$T/r1" $RND --sigma 0.5 --resume 2>"$T/r1b.err"
check '[ $? -eq 0 ]' "resuming the finished random run refused its own picks: $(cat "$T/r1b.err")"
mkdir -p "$T/rt"; cp -r "$T/r1/seed0000" "$T/r1/run.json" "$T/rt/"
rm "$T/rt/seed0000/result.json"
# move step 2's pick to the next candidate (rows: "  [step, k, score, x, y, chosen, distance]")
awk -v K=$K 'NR==FNR { if ($0 ~ /^  \[2, / && $6 == "1,") c = $2 + 0; next }
     /^  \[2, / { k = $2 + 0; $6 = (k == (c + 1) % K) ? "1," : "0," } { print }' "$T/r1/seed0000/state.json" "$T/r1/seed0000/state.json" > "$T/st.json"
cp "$T/st.json" "$T/rt/seed0000/state.json"
run "$T/rt" $RND --sigma 0.5 --seeds 0 --resume 2>"$T/rt.err"
check "[ \$? -ne 0 ] && grep -q 'random (rng seed 0) picks' '$T/rt.err'" \
    "a state.json whose step-2 pick was changed must be refused: $(cat "$T/rt.err")"

# --- --objective min ---------------------------------------------------------
run "$T/m1" --seeds $MSEEDS --steps $MSTEPS --candidates $K --sigma 0.5 --objective min --threads 2 2>"$T/m1.err"
check '[ $? -eq 0 ]' "min run failed: $(cat "$T/m1.err")"
check "grep -q '\"objective\": \"min\"' '$T/m1/run.json' && grep -q '\"objective\": \"min\"' '$T/m1/seed0000/result.json'" \
    "objective min not recorded"
for s in $MLIST; do
    check "awk -F, 'NR>1 && \$1>0 { if (!(\$1 in m) || \$3<m[\$1]) m[\$1]=\$3; if (\$6==1) c[\$1]=\$3; n[\$1]+=\$6 }
         END { for (t in m) if (c[t]!=m[t] || n[t]!=1) exit 1; exit 0 }' '$T/m1/seed$s/log.csv'" "seed$s: min arm did not pick each step's minimum"
done
# best_step of result.json is the step with the lowest value
check "awk '/max_saliency_per_step/ { gsub(/.*\\[|\\].*/, \"\"); n=split(\$0, v, \", \"); b=1; for (i=2; i<=n; i++) if (v[i]+0 < v[b]+0) b=i; want=b-1 }
           /\"best_step\"/ { gsub(/[^0-9]/, \"\"); got=\$0 } END { exit !(want==got) }' '$T/m1/seed0000/result.json'" "min arm: best_step is not the lowest step"
run "$T/m2" --seeds $MSEEDS --steps $MSTEPS --candidates $K --sigma 0.5 --objective min --threads 1 2>/dev/null
check "diff -r '$T/m1' '$T/m2' >/dev/null" "min arm differs between --threads 2 and 1"
if [ $REPEATS = 1 ]; then
run "$T/r4" $RND --sigma 0.5 --threads 1 2>/dev/null
check "diff -r '$T/r1' '$T/r4' >/dev/null" "random arm differs between --threads 2 and 1"
fi
# improve + min: the current score never goes up, and a move is strictly down
run "$T/mi" --seeds 1 --steps $ISTEPS --candidates $IK --sigma 2 --objective min --accept improve 2>"$T/mi.err"
check '[ $? -eq 0 ]' "improve+min run failed: $(cat "$T/mi.err")"
check "awk -F, 'NR>1 { if (\$1==0) cur=\$3; else { if (\$3<m[\$1] || !(\$1 in m)) m[\$1]=\$3; if (\$6==1) { if (\$3>=cur) exit 1; cur=\$3 } } }
     END { exit 0 }' '$T/mi/seed0001/log.csv'" "improve+min accepted a candidate that is not lower"
check "awk -F, 'NR>1 { if (\$1==0) {cur=\$3; next} if (\$1!=s) { if (s>0 && !moved && lo<cur) exit 1; s=\$1; moved=0; lo=\$3 } if (\$3<lo) lo=\$3; if (\$6==1) {moved=1; cur=\$3} }
     END { if (!moved && lo<cur) exit 1; exit 0 }' '$T/mi/seed0001/log.csv'" "improve+min stayed although a candidate was lower"

# --- kill + --resume: the same bytes --------------------------------------------
ARMS="r m"; [ $REPEATS = 1 ] || ARMS=
for arm in $ARMS; do
    if [ $arm = r ]; then A="$RND --sigma 0.5"; REF=$T/r1; else A="--seeds $MSEEDS --steps $MSTEPS --candidates $K --sigma 0.5 --objective min"; REF=$T/m1; fi
    # started directly (not through run()), so $! is salient itself and kill -9 stops it
    $BIN/salient search --network "$TINY" --saliency "$VXM" --outdir "$T/k$arm" -q $A 2>/dev/null &
    pid=$!
    i=0
    while [ $i -lt 600 ] && [ ! -s "$T/k$arm/seed0001/state.json" ]; do sleep 0.05; i=$((i+1)); done
    kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
    check "[ ! -s '$T/k$arm/summary.csv' ]" "arm $arm finished before it could be killed (not testing resume)"
    run "$T/k$arm" $A --resume 2>"$T/k$arm.err"
    check '[ $? -eq 0 ]' "arm $arm: resume failed: $(cat "$T/k$arm.err")"
    rm -f "$T"/k$arm/seed*/*.tmp.*
    check "diff -r '$REF' '$T/k$arm' >/dev/null" "arm $arm: resumed run differs from an uninterrupted one: $(diff -rq "$REF" "$T/k$arm" 2>&1 | head -5)"
done

# --- shards of the random arm merge to the same folder ---------------------------
if [ $REPEATS = 1 ]; then
for i in 0 1; do run "$T/rs" $RND --sigma 0.5 --shard $i/2 2>/dev/null; done
check "diff -r '$T/r1' '$T/rs' >/dev/null" "sharded random arm differs from one run"
fi

# --- the study's arm writes no new key; folders of another arm refuse -----------
run "$T/d" --seeds 0 --steps 1 --candidates 2 --sigma 0.5 2>/dev/null
check "! grep -q objective '$T/d/run.json' && ! grep -q objective '$T/d/seed0000/result.json'" "the default arm wrote the objective key"
check "grep -q '\"accept\": \"best\", \"rng_seed\": 0, \"fast\": 0}' '$T/d/run.json'" "run.json of the default arm changed its layout: $(cat "$T/d/run.json")"
run "$T/d" --seeds 0 --steps 1 --candidates 2 --sigma 0.5 --objective min --resume 2>"$T/d.err"
check "[ \$? -ne 0 ] && grep -q 'objective: folder max, now min' '$T/d.err'" "min into a default folder: $(cat "$T/d.err")"
run "$T/m1" --seeds $MSEEDS --steps $MSTEPS --candidates $K --sigma 0.5 --resume 2>"$T/m1r.err"
check "[ \$? -ne 0 ] && grep -q 'objective: folder min, now max' '$T/m1r.err'" "default into a min folder: $(cat "$T/m1r.err")"
for args in "--objective mid" "--accept random --objective min" "--accept sometimes"; do
    run "$T/err" --seeds 0 $args 2>"$T/e.txt"
    rc=$?
    check "[ $rc -eq 2 ] && [ \$(wc -l < '$T/e.txt') -eq 1 ]" "bad args '$args': exit $rc, stderr: $(cat "$T/e.txt")"
done
check "[ ! -e '$T/err' ]" "a refused run left its output folder"
$BIN/salient search --help | grep -q -- '--objective max|min'; check '[ $? -eq 0 ]' "--help lacks --objective"

# --- the report (index.html) ------------------------------------------------------
# balanced tags (void elements and "/>" aside, script bodies skipped): prints ok or the first problem
html_check() {
    awk '
# balanced-tag check of an HTML file; prints "ok" or the first problem
{ all = all $0 "\n" }
END {
    if (bad) exit 1
    s = all
    gsub(/<!--([^-]|-[^-])*-->/, "", s)
    # drop script contents
    while ((i = index(s, "<script>")) > 0) { j = index(substr(s, i), "</script>"); if (!j) { print "unclosed script"; exit 1 }
        s = substr(s, 1, i - 1) substr(s, i + j - 1 + 9) }
    n = 0
    while (match(s, /<[^<>]*>/)) {
        t = substr(s, RSTART, RLENGTH); pre = substr(s, 1, RSTART - 1); s = substr(s, RSTART + RLENGTH)
        if (index(pre, "<") || index(pre, ">")) { print "stray < or > before " t; exit 1 }
        if (t ~ /^<!/) continue
        if (t ~ /^<\//) { name = tolower(t); gsub(/^<\/|[ >].*$/, "", name)
            if (n == 0 || stack[n] != name) { print "closing " name " but open is " (n ? stack[n] : "nothing"); exit 1 }
            n--; continue }
        name = tolower(t); gsub(/^<|[ \t\n\/>].*$/, "", name)
        if (t ~ /\/>$/ || name ~ /^(meta|img|br|input|link|hr|source|area|col|wbr)$/) continue
        stack[++n] = name
    }
    if (index(s, "<") || index(s, ">")) { print "stray < or > at the end"; exit 1 }
    if (n) { print "unclosed " stack[n]; exit 1 }
    print "ok"
}
' "$1"
}
printf '<html><body><div><p>x</div></body></html>\n' > "$T/bad.html"
check "[ \"\$(html_check '$T/bad.html')\" = 'closing div but open is p' ]" "the HTML checker misses a misnested tag: $(html_check "$T/bad.html")"
for d in r1 m1 mi d; do
    check "[ \"\$(html_check '$T/$d/index.html')\" = ok ]" "$d/index.html is not well-formed: $(html_check "$T/$d/index.html")"
done
P=$T/r1/index.html
sum=$(sha256sum "$TINY" | cut -c1-64)
check "grep -q '$sum' '$P'" "the page lacks the network's sha256 ($sum)"
check "grep -q \"<code>$TINY</code>\" '$P' && grep -q 'saliency model' '$P'" "the page lacks the network / saliency model"
check "grep -q '<code>accept=random</code>' '$P' && grep -q '<code>candidates=$K</code>' '$P' && grep -q '<code>noise_mode=const</code>' '$P'" "the page lacks the options"
check "grep -q '2023-11-14' '$P' && grep -q 'salient [0-9][0-9.]*<' '$P'" "the page lacks the date (SOURCE_DATE_EPOCH) or the version"
check "grep -q 'Control arm' '$P' && grep -q 'Mirror arm' '$T/m1/index.html' && ! grep -q 'RANDOM WEIGHTS' '$P'" "arm titles / banner"
check "grep -q 'Saliency increase: [0-9.]* &rarr; [0-9.]* ([0-9.-]*%) <span class=\"note\">(% = final / start)' '$P'" "the increase line lacks its note"
# the aggregate line: mean and median of final - start and the count of improved seeds, from summary.csv
want=$(awk -F, 'NR>1 {d[++n]=$3-$2; s+=$3-$2; up+=($3>$2)} END {
    for (i=1; i<=n; i++) for (j=i+1; j<=n; j++) if (d[j]<d[i]) {t=d[i]; d[i]=d[j]; d[j]=t}
    med = n%2 ? d[(n+1)/2] : (d[n/2]+d[n/2+1])/2
    printf "mean %+.4f, median %+.4f; improved (final &gt; start) in %d of %d", s/n, med, up, n }' "$T/r1/summary.csv")
check "grep -qF '$want' '$P'" "aggregate line: want '$want', page: $(grep -o 'mean [^<]*' "$P")"
# frames: one per step, captioned with the current score, the salient point at its place
for s in 0000 0001; do
    nf=$(awk -v s="$s" '/<div class="seed" /{on = index($0, "data-seed=\"" (s+0) "\"") > 0} on && /<figure class="frame">/ {n++} END {print n+0}' "$P")
    check "[ '$nf' -eq $((RSTEPS + 1)) ]" "seed$s: $nf frames on the page, want $((RSTEPS + 1))"
    awk -F, 'NR>1 && $6==1 {printf "seed%s/step%02d.png %.4f %.2f%% %.2f%%\n", S, $1, $3, 100*($4+0.5)/R, 100*($5+0.5)/R}' S=$s R=32 "$T/r1/seed$s/log.csv" > "$T/want.txt"
    missing=0
    while read -r png score left top; do
        grep -q "href=\"$png\"><span class=\"sq\"><img src=\"$png\" [^>]*><span class=\"pt\" style=\"left:$left;top:$top\"[^>]*></span></span></a><figcaption>step [0-9]*<br>max $score</figcaption>" "$P" || missing=$((missing+1))
    done < "$T/want.txt"
    check "[ $missing -eq 0 ] && [ \$(wc -l < '$T/want.txt') -eq $((RSTEPS + 1)) ]" "seed$s: $missing frames lack their caption / salient point"
    for f in strip.png plot.png log.csv latents.npy result.json; do
        check "grep -q 'href=\"seed$s/$f\"' '$P'" "seed$s: no link to $f"
    done
done
# the plot: one grey dot per candidate (RSTEPS steps x K candidates per seed)
nseeds=$(($(wc -l < "$T/r1/summary.csv") - 1))
ndots=$(grep -o 'r="2.5"/>' "$P" | wc -l)
check "[ '$ndots' -eq \$((nseeds * RSTEPS * K)) ]" "$ndots candidate dots on the page, want $((nseeds * RSTEPS * K))"
# a --random blob gets the red banner
$BIN/weightconv --random tiny "$T/random.blob" >/dev/null 2>&1
$BIN/salient search --network "$T/random.blob" --saliency "$VXM" --outdir "$T/rw" -q --seeds 0 --steps 1 --candidates 2 2>/dev/null
check "grep -q 'class=\"banner\">RANDOM WEIGHTS &mdash; not faces' '$T/rw/index.html'" "no RANDOM WEIGHTS banner for a --random blob"
check "[ \"\$(html_check '$T/rw/index.html')\" = ok ]" "rw/index.html is not well-formed"

rm -rf "$T"
finish test_search_arms
