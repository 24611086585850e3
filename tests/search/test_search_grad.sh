#!/bin/sh
# test_search_grad.sh — `salient search --method grad` end to end on the
# fixture generator `tiny` with the real saliency model: the command-line
# checks (grad-only options refused with random and the other way round),
# the same file set as the random search with one log row per step, the
# method keys in run.json / result.json (and none in a random run's), the
# start face and score equal to the random search's, the max saliency rising
# at every step with a small lr, steps of length lr, --radius holding
# exactly in the float32 latents (decoded bit by bit from latents.npy), the
# same bytes for 1 and 2 threads and after kill -9 + --resume, grad_cost
# (measured, or --grad-cost; a resume keeps the folder's), --budget, and a
# zero gradient (--trunc 0: the image does not depend on the latent) that
# stays in place and says so; `salient direction --method regression`
# refuses a grad folder.
# Runs with $BIN = bin or build-asan/bin; prints "N passed, N failed".
. "$(dirname "$0")/../lib.sh"
FX=$SALIENT_SHARED/fixtures/stylegan2
VXM=$SALIENT_SHARED/data/fastgaze.vxm
T=$SALIENT_TMP/test_search_grad.$$
rm -rf "$T"; mkdir -p "$T"
export SOURCE_DATE_EPOCH=1700000000

search() { $BIN/salient search "$@"; }

# --- help and command-line errors (nothing is loaded, nothing is written) --------
search --help >"$T/help.txt" 2>&1
for o in --method --lr --radius --score --tau --grad-cost --budget; do
    check "grep -q -- '$o' '$T/help.txt'" "--help does not list $o"
done
E="--network $T/none.blob --saliency $T/none.vxm --seeds 0 --outdir $T/never"
refused() { # description, expected text, args...
    d=$1; want=$2; shift 2
    search $E "$@" >/dev/null 2>"$T/err.txt"; rc=$?
    check "[ $rc -eq 2 ] && grep -q -- '$want' '$T/err.txt'" "$d: rc=$rc, $(cat "$T/err.txt")"
}
refused "--method foo" "expected random or grad" --method foo
refused "--lr with random" "--lr applies to --method grad only" --lr 0.1
refused "--radius with random" "--radius applies to --method grad only" --radius 1
refused "--grad-cost with random" "--grad-cost applies to --method grad only" --grad-cost 3
refused "--score with random" "--score applies to --method grad only" --score softmax
refused "--candidates with grad" "--candidates applies to --method random only" --method grad --candidates 4
refused "--accept with grad" "--accept applies to --method random only" --method grad --accept improve
refused "--fast with grad" "--fast applies to --method random only" --method grad --fast
refused "--lr and --sigma with grad" "give either them or --lr" --method grad --lr 0.1 --sigma 0.2
refused "--tau without softmax" "--tau applies to --score softmax only" --method grad --tau 0.5
refused "--steps and --budget" "either --steps or --budget" --method grad --steps 3 --budget 10
refused "--radius -1" "--radius" --method grad --radius -1
check "[ ! -e '$T/never' ]" "a refused command left $T/never behind"

need_shared fixtures/stylegan2/tiny && need_shared data/fastgaze.vxm || { rm -rf "$T"; finish test_search_grad; exit 0; }
TINY=$T/tiny.blob FG=$T/fg.blob
$BIN/weightconv "$FX/tiny/tiny.pkl" "$TINY" >/dev/null 2>&1 || bad "weightconv tiny"
$BIN/weightconv "$VXM" "$FG" >/dev/null 2>&1 || bad "weightconv fastgaze"
run() { d=$1; shift; search --network "$TINY" --saliency "$FG" --outdir "$d" -q "$@"; }
# the float32 values of an .npy (version 1 header), decoded exactly from their bits
npy_exact() {
    hl=$(od -A n -t u2 -j 8 -N 2 "$1" | tr -d ' ')
    od -A n -v -t u4 -j $((10 + hl)) "$1" | tr -s ' ' '\n' | grep -v '^$' | awk '{
        b = $1; s = int(b / 2147483648); e = int(b / 8388608) % 256; m = b % 8388608
        v = e == 0 ? m * 2 ^ -149 : (m + 8388608) * 2 ^ (e - 150)
        printf "%.17g\n", s ? -v : v }'
}
col() { awk -F, -v c="$2" 'NR>1 {print $c}' "$1"; } # a log.csv column, step 0 first
# Under the sanitizers (not test-full) a forward+backward costs ~2.5 s of CPU:
# there only the runs that reach new code paths, at one step each; the
# repeated runs (threads, kill + resume, measured cost, zero gradient) are
# left to the normal build.
SMALL=0; [ -n "${SALIENT_ASAN:-}" ] && ! full && SMALL=1

# --- z, small lr: files, keys, one row per step, rising max saliency -------------
S1=2; [ $SMALL = 1 ] && S1=1
run "$T/g" --seeds 0 --method grad --steps $S1 --lr 0.05 --grad-cost 3 2>"$T/g.err"
check '[ $? -eq 0 ]' "grad run failed: $(cat "$T/g.err")"
for f in step00.png step0$S1.png latents.npy log.csv state.json strip.png plot.png result.json; do
    check "[ -s '$T/g/seed0000/$f' ]" "grad run: no seed0000/$f"
done
for f in summary.csv index.html run.json; do check "[ -s '$T/g/$f' ]" "grad run: no $f"; done
check "grep -q '\"method\": \"grad\", \"lr\": 0.050000000000000003, \"radius\": null, \"score\": \"max\", \"grad_cost\": 3,' '$T/g/run.json'" \
    "run.json lacks the grad keys: $(cat "$T/g/run.json")"
check "grep -q '\"candidates\": 1,' '$T/g/run.json'" "run.json of grad: candidates should be 1"
check "grep -q '<code>radius=(none)</code>' '$T/g/index.html' && grep -q '<code>method=grad</code>' '$T/g/index.html'" \
    "index.html options line: no radius=(none) or method=grad"
R=$T/g/seed0000/result.json
check "grep -q '\"method\": \"grad\"' '$R' && grep -q '\"lr\": 0.05,' '$R' && grep -q '\"radius\": null' '$R' && grep -q '\"score\": \"max\"' '$R'" \
    "result.json parameters lack the grad keys"
check "! grep -q 'tau\\|grad_cost' '$R'" "result.json of a max-score run names tau or grad_cost"
check "[ \$(awk -F, 'NR>1 && \$2==0 && \$6==1' '$T/g/seed0000/log.csv' | wc -l) -eq $((S1 + 1)) ] && [ \$(wc -l < '$T/g/seed0000/log.csv') -eq $((S1 + 2)) ]" \
    "log.csv: one row per step, candidate 0, chosen: $(cat "$T/g/seed0000/log.csv")"
check "col '$T/g/seed0000/log.csv' 3 | awk 'NR>1 && !(\$1 > p) {exit 1} {p = \$1}'" \
    "max saliency does not rise at every step with lr 0.05: $(col "$T/g/seed0000/log.csv" 3 | tr '\n' ' ')"
# every step has length lr (the distance of step 1 from the start is lr)
check "col '$T/g/seed0000/log.csv' 7 | awk 'NR==2 {d = \$1 - 0.05; if (d < 0) d = -d; exit !(d < 1e-6)}'" "step 1 is not of length lr"
# the same start as the random search: face and score
run "$T/r" --seeds 0 --steps 0 2>/dev/null
check "cmp -s '$T/r/seed0000/step00.png' '$T/g/seed0000/step00.png'" "step00.png differs between random and grad"
check "[ \"\$(sed -n 2p '$T/r/seed0000/log.csv')\" = \"\$(sed -n 2p '$T/g/seed0000/log.csv')\" ]" "log row 0 differs between random and grad"
# salient direction's regression needs random candidates: a grad folder is refused
if [ $SMALL = 0 ]; then
    $BIN/salient direction --network "$TINY" --saliency "$FG" --method regression --from "$T/g" --outdir "$T/dir" 2>"$T/dir.err"
    check "[ \$? -ne 0 ] && grep -q 'a --method grad search' '$T/dir.err'" "direction --from a grad folder: $(cat "$T/dir.err")"
fi
# the random method writes none of the grad keys
check "! grep -q 'method\\|\"lr\\|radius\\|score\\|grad_cost\\|tau' '$T/r/run.json' '$T/r/seed0000/result.json' '$T/r/seed0000/state.json'" \
    "a random run wrote a grad key"

# --- --radius holds exactly (w+, softmax, default lr: every step leaves the ball) ---
# and this run is the reference of the 1-thread / 2-thread / kill -9 + resume check
# (the steps come from --budget: 1 + S2 x 2.5 forward-equivalents make S2 steps)
SEEDS=0; S2=3; BUD=8.5; RAD=0.3
[ $SMALL = 1 ] && { S2=1; BUD=3.5; }
B="--seeds $SEEDS --method grad --space w+ --score softmax --tau 0.2 --radius $RAD --budget $BUD --grad-cost 2.5"
run "$T/b1" $B --threads 1 2>"$T/b1.err"
check '[ $? -eq 0 ]' "radius run failed: $(cat "$T/b1.err")"
check "grep -q '\"radius\": 0.29999999999999999, \"score\": \"softmax\", \"tau\": 0.20000000000000001, \"grad_cost\": 2.5' '$T/b1/run.json'" \
    "run.json of the softmax run: $(cat "$T/b1/run.json")"
check "grep -q '\"steps\": $S2,' '$T/b1/run.json'" "--budget $BUD at cost 2.5 should make $S2 steps: $(cat "$T/b1/run.json")"
npy_exact "$T/b1/seed0000/latents.npy" >"$T/lat.txt"
n=$(wc -l < "$T/lat.txt"); D=$((n / (S2 + 1)))
check "[ $D -gt 0 ] && [ $((D * (S2 + 1))) -eq $n ]" "latents.npy has $n values, not $((S2 + 1)) rows"
awk -v D=$D -v R=$RAD '{ i = NR - 1; r = int(i / D); c = i % D
    if (r == 0) x0[c] = $1; else { d = $1 - x0[c]; s[r] += d * d } }
    END { for (r = 1; r in s; r++) printf "%d %.17g %d\n", r, sqrt(s[r]), sqrt(s[r]) <= R }' "$T/lat.txt" >"$T/dist.txt"
check "[ \$(wc -l < '$T/dist.txt') -eq $S2 ] && awk '\$3 != 1 {exit 1}' '$T/dist.txt'" "a latent is outside the radius: $(cat "$T/dist.txt")"
check "awk -v R=$RAD '\$2 < R * (1 - 1e-6) {exit 1}' '$T/dist.txt'" "the default lr should reach the sphere at every step: $(cat "$T/dist.txt")"
check "grep -q '\"lr\": 2.26274' '$T/b1/seed0000/result.json'" "default lr of w+ (sigma 0.1 sqrt(D)) not recorded: $(grep lr "$T/b1/seed0000/result.json")"

if [ $SMALL = 0 ]; then
# --- 2 threads, killed with SIGKILL after a step, resumed: the same bytes ------------
run "$T/b2" $B --threads 2 2>"$T/b2.err" &
pid=$!
i=0
while [ $i -lt 1200 ] && ! grep -q '"steps_done": [1-9]' "$T/b2/seed0000/state.json" 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
killed_early=0; [ ! -e "$T/b2/seed0000/result.json" ] && killed_early=1
run "$T/b2" $B --threads 2 --resume 2>"$T/b2r.err"
check '[ $? -eq 0 ]' "resume failed: $(cat "$T/b2r.err")"
check "diff -r '$T/b1' '$T/b2' >/dev/null" "1 thread vs 2 threads + kill -9 + resume differ: $(diff -rq "$T/b1" "$T/b2" | head -3)"
[ $killed_early = 1 ] || echo "note: test_search_grad: the run finished before the kill; the resume check ran on a finished folder"
# a resume with other grad options names them; another --grad-cost is not a mismatch
run "$T/b2" $B --threads 2 --resume --radius 0.5 2>"$T/mm.err"
check "[ \$? -ne 0 ] && grep -q 'radius: folder 0.3, now 0.5' '$T/mm.err'" "resume with another radius: $(cat "$T/mm.err")"
B7=$(echo "$B" | sed 's/--grad-cost 2.5/--grad-cost 7/')
run "$T/b2" $B7 --resume 2>"$T/gc.err"
check '[ $? -eq 0 ] && grep -q "grad_cost\": 2.5" "$T/b2/run.json"' "resume with another --grad-cost: $(cat "$T/gc.err")"
run "$T/b2" --seeds $SEEDS --steps $S2 --space w+ --resume 2>"$T/mr.err"
check "[ \$? -ne 0 ] && grep -q 'method: folder grad, now random' '$T/mr.err'" "a grad folder resumed as random: $(cat "$T/mr.err")"
fi

# --- grad_cost measured and printed; --budget sets the steps ------------------------
if [ $SMALL = 0 ]; then
    search --network "$TINY" --saliency "$FG" --outdir "$T/m" --seeds 0 --method grad --steps 0 2>"$T/m.err"
    check "[ \$? -eq 0 ] && grep -q 'grad cost [0-9.]* forward-equivalents (forward+backward' '$T/m.err'" "no measured grad cost: $(cat "$T/m.err")"
    gc=$(sed -n 's/.*"grad_cost": \([0-9.e+-]*\),.*/\1/p' "$T/m/run.json")
    check "awk -v c='$gc' 'BEGIN {exit !(c > 1 && c < 100)}'" "measured grad_cost $gc not in (1, 100)"
fi
run "$T/bu" --seeds 0 --method grad --budget 3.8 --grad-cost 2.9 --lr 0.05 2>/dev/null
check "grep -q '\"steps\": 0,' '$T/bu/run.json' && [ -e '$T/bu/seed0000/step00.png' ] && [ ! -e '$T/bu/seed0000/step01.png' ]" \
    "--budget 3.8 at cost 2.9: want floor(2.8/2.9) = 0 steps: $(cat "$T/bu/run.json")"
if [ $SMALL = 0 ]; then
    run "$T/br" --seeds 0 --budget 7 --candidates 3 2>/dev/null
    check "grep -q '\"steps\": 2, \"candidates\": 3,' '$T/br/run.json' && ! grep -q method '$T/br/run.json'" \
        "random --budget 7 with K 3: want 2 steps, no method key: $(cat "$T/br/run.json")"
fi

# --- a zero gradient: stay, and say so --------------------------------------------
[ $SMALL = 1 ] && { [ "$fail" -eq 0 ] && rm -rf "$T"; finish test_search_grad; exit 0; }
search --network "$TINY" --saliency "$FG" --outdir "$T/z0" --seeds 0 --method grad --steps 1 --trunc 0 --grad-cost 3 2>"$T/z0.err"
check "[ \$? -eq 0 ] && grep -q 'seed 0 step 1: the gradient is zero; the latent stays' '$T/z0.err'" "zero gradient not reported: $(cat "$T/z0.err")"
npy_exact "$T/z0/seed0000/latents.npy" | awk -v D=$(($(npy_exact "$T/z0/seed0000/latents.npy" | wc -l) / 2)) \
    '{ if (NR <= D) a[NR] = $1; else if ($1 != a[NR - D]) exit 1 }'
check '[ $? -eq 0 ]' "a zero gradient moved the latent"
check "[ \"\$(col '$T/z0/seed0000/log.csv' 7 | tail -n 1)\" = 0 ]" "zero gradient: distance should stay 0"

[ "$fail" -eq 0 ] && rm -rf "$T"
finish test_search_grad
