#!/bin/sh
# test_report_compare.sh — `salient report CMP` on a comparison folder (runs
# of different methods as subfolders): compare.csv and compare_curve.csv
# against means, costs, equal-cost steps and wins this script computes itself
# (awk) from the per-step scores it wrote; refusals (no common seed,
# different network or truncation, damaged files) exit 1 with one line and
# write nothing; a real random search on the tiny fixture next to a
# synthetic gradient run, end to end.
# Runs with $BIN = bin or build-asan/bin; prints "N passed, N failed".
. "$(dirname "$0")/../lib.sh"
T=$SALIENT_TMP/test_report_compare.$$
rm -rf "$T"; mkdir -p "$T"
export SOURCE_DATE_EPOCH=1700000000
OPTS='"sigma": 0.1, "sigma_file": "", "trunc": 1, "trunc_cutoff": -1, "noise_mode": 0, "accept": "best", "rng_seed": 0, "fast": 0'
GRAD='"method": "grad", "lr": 0.1, "radius": null, "score": "max"'

# random_run DIR K STEPS [SPACE] [EXTRA]: run.json of a random search (no "method" key)
random_run() {
    mkdir -p "$1"
    echo "{\"steps\": $3, \"candidates\": $2, \"space\": \"${4:-z}\", $OPTS${5:-}}" > "$1/run.json"
}
# grad_run DIR C STEPS [SPACE] [EXTRA]: run.json of a gradient run, cost C per step
grad_run() {
    mkdir -p "$1"
    echo "{\"steps\": $3, \"candidates\": 16, \"space\": \"${4:-z}\", $OPTS, $GRAD, \"grad_cost\": $2${5:-}}" > "$1/run.json"
}
# result RUNDIR SEED METHOD "v0 v1 ... vT" [NETWORK]: seedNNNN/result.json with these
# per-step scores; also appends "run method cost seed v0 ... vT" to RUNDIR/../listing
result() {
    d=$1/seed$(printf %04d "$2"); mkdir -p "$d"
    meth=''; [ "$3" = grad ] && meth="$GRAD, "
    echo "$4" | awk -v seed="$2" -v meth="$meth" -v net="${5:-models/net.blob}" '{
        printf "{\n  \"seed\": %d,\n  \"start_max_saliency\": %s,\n  \"final_max_saliency\": %s,\n  \"max_saliency_per_step\": [", seed, $1, $NF
        for (i = 1; i <= NF; i++) printf "%s%s", (i > 1 ? ", " : ""), $i
        printf "],\n  \"parameters\": {\"network\": \"%s\", \"saliency_model\": \"models/fastgaze.vxm\", %s\"steps\": %d, \"space\": \"z\"}\n}\n", net, meth, NF - 1
    }' > "$d/result.json"
    cost=$(awk -v m="$3" '{ if (m == "grad") { if (match($0, /"grad_cost": [0-9.]+/)) print substr($0, RSTART + 13, RLENGTH - 13) }
                            else if (match($0, /"candidates": [0-9]+/)) print substr($0, RSTART + 14, RLENGTH - 14) }' "$1/run.json" 2>/dev/null)
    echo "$(basename "$1") $3 $cost $2 $4" >> "$(dirname "$1")/listing"
}
# scores FORMULA SEED STEPS: "v0 ... vT" with v(t) from an awk expression in s and t
scores() {
    awk -v s="$2" -v n="$3" "BEGIN { for (t = 0; t <= n; t++) printf \"%s%.6f\", (t ? \" \" : \"\"), $1 }"
}

# The expected compare.csv (mode=table) or compare_curve.csv (mode=curve) from
# a listing (sorted by run name, as the program orders runs): common seeds, B = min over runs of 1 + T*cost,
# equal-cost step = floor((B - 1) / cost) (capped at T), means, standard errors
# and wins (the strictly best score at equal cost; equal best = a tie).
cat > "$T/expect.awk" <<'EOF'
{
    r = $1; if (!(r in cost)) { runs[++nr] = r; meth[r] = $2; cost[r] = $3 }
    s = $4; has[r, s] = 1; T[r] = NF - 5
    for (i = 5; i <= NF; i++) v[r, s, i - 5] = $i
    if (!(s in seen)) { seen[s] = 1; seeds[++ns] = s }
}
END {
    for (i = 1; i <= ns; i++) { s = seeds[i]; ok = 1; for (k = 1; k <= nr; k++) if (!((runs[k], s) in has)) ok = 0; if (ok) com[++nc] = s + 0 }
    for (i = 2; i <= nc; i++) for (j = i; j > 1 && com[j] < com[j - 1]; j--) { x = com[j]; com[j] = com[j - 1]; com[j - 1] = x }
    B = -1; for (k = 1; k <= nr; k++) { r = runs[k]; tot[r] = 1 + T[r] * cost[r]; if (B < 0 || tot[r] < B) B = tot[r] }
    for (k = 1; k <= nr; k++) { r = runs[k]; eq[r] = int((B - 1) / cost[r] + 1e-9); if (eq[r] > T[r]) eq[r] = T[r] }
    for (i = 1; i <= nc; i++) {
        s = com[i]; best = ""; tie = 0
        for (k = 1; k <= nr; k++) { r = runs[k]; x = v[r, s, eq[r]] + 0
            if (best == "" || x > bv) { best = r; bv = x; tie = 0 } else if (x == bv) tie = 1 }
        win[s] = tie ? "" : best; if (!tie) wins[best]++
    }
    if (mode == "table") {
        print "seed,run,method,start_max_saliency,steps,cost_per_step,final_max_saliency,total_cost,equal_cost,equal_cost_step,equal_cost_max_saliency,wins"
        for (i = 1; i <= nc; i++) for (k = 1; k <= nr; k++) { s = com[i]; r = runs[k]
            printf "%d,%s,%s,%s,%d,%s,%s,%.12g,%.12g,%d,%s,%d\n", s, r, meth[r], v[r, s, 0], T[r], cost[r], v[r, s, T[r]], tot[r], B, eq[r], v[r, s, eq[r]], win[s] == r }
        for (k = 1; k <= nr; k++) { r = runs[k]; m0 = mT = me = 0
            for (i = 1; i <= nc; i++) { s = com[i]; m0 += v[r, s, 0]; mT += v[r, s, T[r]]; me += v[r, s, eq[r]] }
            printf "mean,%s,%s,%.12g,%d,%s,%.12g,%.12g,%.12g,%d,%.12g,%d\n", r, meth[r], m0 / nc, T[r], cost[r], mT / nc, tot[r], B, eq[r], me / nc, wins[r] + 0 }
    } else {
        print "run,method,step,cost,mean_max_saliency,standard_error,seeds"
        for (k = 1; k <= nr; k++) { r = runs[k]
            for (t = 0; t <= T[r]; t++) { m = 0; for (i = 1; i <= nc; i++) m += v[r, com[i], t]; m /= nc
                ss = 0; for (i = 1; i <= nc; i++) ss += (v[r, com[i], t] - m) ^ 2
                printf "%s,%s,%d,%.12g,%.12g,%.12g,%d\n", r, meth[r], t, 1 + t * cost[r], m, (nc > 1 ? sqrt(ss / (nc - 1) / nc) : 0), nc }
        }
    }
}
EOF
# same_csv A B: same rows and fields; numbers equal to 1e-7 (relative), text exactly
same_csv() {
    awk -F, 'NR == FNR { a[FNR] = $0; n = FNR; next }
        { if (!(FNR in a)) exit 1; split(a[FNR], x, ","); if (NF != split(a[FNR], x, ",")) exit 1
          for (i = 1; i <= NF; i++) {
              if ($i ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/ && x[i] ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) {
                  d = $i - x[i]; if (d < 0) d = -d; m = x[i] < 0 ? -x[i] : x[i]; if (d > 1e-7 * (m > 1 ? m : 1)) exit 1
              } else if ($i != x[i]) exit 1 } m2 = FNR }
        END { exit m2 != n }' "$1" "$2"
}
expect_csvs() { # CMP: compare.csv and compare_curve.csv as expect.awk computes them
    LC_ALL=C sort -s -k1,1 "$1/listing" | awk -v mode=table -f "$T/expect.awk" > "$1/expected.csv"
    LC_ALL=C sort -s -k1,1 "$1/listing" | awk -v mode=curve -f "$T/expect.awk" > "$1/expected_curve.csv"
    check "same_csv '$1/expected.csv' '$1/compare.csv'" "$1/compare.csv differs from the expectation: $(diff "$1/expected.csv" "$1/compare.csv" | head -n 6)"
    check "same_csv '$1/expected_curve.csv' '$1/compare_curve.csv'" "$1/compare_curve.csv differs from the expectation: $(diff "$1/expected_curve.csv" "$1/compare_curve.csv" | head -n 6)"
}
field() { # CSV SEED RUN COLUMN-NAME: one value of compare.csv
    awk -F, -v s="$2" -v r="$3" -v c="$4" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next } $1 == s && $2 == r { print $col[c] }' "$1"
}
# refused CMP WORD WHAT: exit 1, one line naming WORD, nothing written (no comparison, no run report)
refused() {
    $BIN/salient report "$1" > "$1.out" 2> "$1.err"
    code=$?
    check "[ $code -eq 1 ]" "$3: exit $code, expected 1"
    lines=$(wc -l < "$1.err"); grep -qF -- "$2" "$1.err"; named=$?
    check "[ $lines -eq 1 ] && [ $named -eq 0 ]" "$3: expected one line naming the problem, got: $(cat "$1.err")"
    check "[ -z \"\$(find '$1' -name compare.csv -o -name compare_curve.csv -o -name compare.svg -o -name index.html -o -name summary.csv -o -name '*.tmp.*')\" ]" \
          "$3: files were written: $(find "$1" -name '*.csv' -o -name '*.html' -o -name '*.svg' -o -name '*.tmp.*' | grep -v listing | head -n 3)"
}

# --- A: random (K=16, 5 steps) vs grad (C=2.37, 34 steps) -----------------------
# B = min(1 + 5*16, 1 + 34*2.37) = min(81, 81.58) = 81; grad's equal-cost step is
# 33 (1 + 33*2.37 = 79.21 <= 81 < 81.58). Seeds 0-3 in both, 4 only in grad, 5 only
# in random. Random gains 0.01*t*(1 + s%2), grad 0.0025*t*(2 - s%2): at equal cost
# grad wins the even seeds (+0.165 vs +0.05), random seed 1 (+0.10 vs +0.0825);
# seed 3 is flat at 0.5 in both, a tie.
A=$T/A
random_run "$A/random" 16 5
grad_run "$A/grad" 2.37 34
for s in 0 1 2 4; do result "$A/grad" $s grad "$(scores '0.4 + 0.01*s + 0.0025*t*(2 - s%2)' $s 34)"; done
result "$A/grad" 3 grad "$(scores '0.5' 3 34)"
for s in 0 1 2 5; do result "$A/random" $s random "$(scores '0.4 + 0.01*s + 0.01*t*(1 + s%2)' $s 5)"; done
result "$A/random" 3 random "$(scores '0.5' 3 5)"
$BIN/salient report "$A" > "$A.out" 2> "$A.err"
check '[ $? -eq 0 ]' "A: report failed: $(cat "$A.err")"
for f in compare.csv compare_curve.csv compare.svg index.html random/summary.csv random/index.html grad/summary.csv grad/index.html; do
    check "[ -s '$A/$f' ]" "A: $f missing"
done
expect_csvs "$A"
check "[ \"\$(field '$A/compare.csv' mean grad equal_cost)\" = 81 ] && [ \"\$(field '$A/compare.csv' mean grad equal_cost_step)\" = 33 ]" \
      "A: the equal cost should be 81 and grad's step 33"
check "[ \"\$(field '$A/compare.csv' mean grad wins)\" = 2 ] && [ \"\$(field '$A/compare.csv' mean random wins)\" = 1 ]" "A: wins should be grad 2, random 1 (seed 3 a tie)"
check "[ \$(awk -F, '\$1 ~ /^[0-9]+\$/' '$A/compare.csv' | wc -l) -eq 8 ]" "A: compare.csv should hold 4 common seeds x 2 runs"
check "grep -q 'href=\"grad/index.html\"' '$A/index.html' && grep -q 'href=\"random/index.html\"' '$A/index.html'" "A: index.html lacks the links to the runs"
check "grep -q 'Seeds finished in only some runs (not compared): grad: 4; random: 5;' '$A/index.html'" "A: index.html does not list seeds 4 and 5 as not compared"
check "grep -q 'tie in 1' '$A/index.html' && grep -q '<svg' '$A/index.html'" "A: index.html lacks the tie count or the figure"
check "grep -q '<polyline' '$A/compare.svg' && [ \$(grep -c '<polygon' '$A/compare.svg') -eq 2 ]" "A: compare.svg lacks the lines or the two error bands"
check "grep -q 'sha256: (file not readable' '$A/index.html'" "A: the header should say the (fake) network is not readable"
# the runs' own reports are exactly what `salient report RUN` writes
mkdir -p "$T/A_copy" && cp "$A/grad/index.html" "$A/grad/summary.csv" "$T/A_copy/"
$BIN/salient report "$A/grad" 2>/dev/null
check "cmp -s '$A/grad/index.html' '$T/A_copy/index.html' && cmp -s '$A/grad/summary.csv' '$T/A_copy/summary.csv'" "A: the run report differs from salient report RUN"
check "! [ -e '$A/grad/compare.csv' ]" "A: a plain run folder got a compare.csv"
# the same inputs give the same bytes
for f in compare.csv compare_curve.csv compare.svg index.html; do cp "$A/$f" "$T/A_copy/$f"; done
$BIN/salient report "$A" 2>/dev/null
for f in compare.csv compare_curve.csv compare.svg index.html; do
    check "cmp -s '$A/$f' '$T/A_copy/$f'" "A: $f differs between two reports of the same folder"
done
# a damaged result.json later: refused, the earlier outputs stay as they were
printf '{"seed": 1, "max_saliency_per_step": [0.4, ' > "$A/random/seed0001/result.json"
$BIN/salient report "$A" > /dev/null 2> "$A.err2"
check '[ $? -eq 1 ] && [ $(wc -l < "$A.err2") -eq 1 ] && grep -q "random/seed0001/result.json" "$A.err2"' "A: a damaged result.json should be refused naming it: $(cat "$A.err2")"
for f in compare.csv compare_curve.csv compare.svg index.html; do
    check "cmp -s '$A/$f' '$T/A_copy/$f'" "A: $f changed by a refused report"
done
check "[ -z \"\$(find '$A' -name '*.tmp.*')\" ]" "A: temporary files left behind"

# --- B: three runs, costs that meet the budget exactly ------------------------
# r5 (K=5 x 11 steps) costs 56 = B. grad C=1.1: 1 + 50*1.1 = 56 in decimal, but
# 56.00000000000001 in binary: the rule must still take step 50. r16 (K=16 x 5
# steps): step 3 (49 <= 56 < 65). At equal cost grad gains 0.15 everywhere,
# r16 0.18 on seed 11 only, r5 0.22 on seed 12 only.
Bc=$T/B
random_run "$Bc/r16" 16 5
random_run "$Bc/r5" 5 11
grad_run "$Bc/grad" 1.1 60
for s in 10 11 12; do
    result "$Bc/grad" $s grad "$(scores '0.3 + 0.002*s + 0.003*t' $s 60)"
    result "$Bc/r16" $s random "$(scores '0.3 + 0.002*s + 0.06*t*(s==11)' $s 5)"
    result "$Bc/r5" $s random "$(scores '0.3 + 0.002*s + 0.02*t*(s==12)' $s 11)"
done
$BIN/salient report "$Bc" > /dev/null 2> "$Bc.err"
check '[ $? -eq 0 ]' "B: report failed: $(cat "$Bc.err")"
expect_csvs "$Bc"
check "[ \"\$(field '$Bc/compare.csv' mean grad equal_cost_step)\" = 50 ] && [ \"\$(field '$Bc/compare.csv' mean r16 equal_cost_step)\" = 3 ] && [ \"\$(field '$Bc/compare.csv' mean r5 equal_cost_step)\" = 11 ]" \
      "B: equal-cost steps should be grad 50, r16 3, r5 11"
check "[ \"\$(field '$Bc/compare.csv' 10 grad wins)\" = 1 ] && [ \"\$(field '$Bc/compare.csv' 11 r16 wins)\" = 1 ] && [ \"\$(field '$Bc/compare.csv' 12 r5 wins)\" = 1 ]" \
      "B: winners should be grad (10), r16 (11), r5 (12)"
check "[ \$(grep -c '<polyline' '$Bc/compare.svg') -eq 3 ]" "B: compare.svg should have three lines"

# --- C: the same network under two paths (same sha256) is one network; a different space is noted.
# B = min(1 + 2*2, 1 + 1*3) = 4: random at step 1 (cost 3), grad at step 1 (cost 4).
C=$T/C
mkdir -p "$C"; printf 'not a network, same bytes' > "$C/netA"; cp "$C/netA" "$C/netB"
random_run "$C/random" 2 2 z
grad_run "$C/grad" 3 1 w
result "$C/random" 7 random "0.2 0.25 0.3" "$C/netA"
result "$C/grad" 7 grad "0.2 0.4" "$C/netB"
$BIN/salient report "$C" > /dev/null 2> "$C.err"
check '[ $? -eq 0 ]' "C: report failed: $(cat "$C.err")"
check "grep -q 'warning: the runs differ in space (grad: w, random: z)' '$C.err'" "C: no warning about the space: $(cat "$C.err")"
check "grep -q 'class=\"warn\">Note: the runs differ in space' '$C/index.html'" "C: index.html lacks the space note"
expect_csvs "$C"
check "grep -q 'Paired difference grad &minus; random: +0.1500' '$C/index.html'" "C: paired difference at cost 4 should be 0.4 - 0.25 (the better run first)"
# the better run named second: still first in the difference
mkdir -p "$C.swap" && cp -r "$C/random" "$C.swap/a_random" && cp -r "$C/grad" "$C.swap/b_grad"
$BIN/salient report "$C.swap" > /dev/null 2>&1
check "grep -q 'Paired difference b_grad &minus; a_random: +0.1500' '$C.swap/index.html'" "C: the better run is not first in the paired difference when it sorts second"

# --- refusals: one line, exit 1, nothing written ---------------------------
E=$T/nocommon
random_run "$E/random" 4 2; grad_run "$E/grad" 2 3
result "$E/random" 1 random "0.1 0.2 0.3"; result "$E/grad" 2 grad "0.1 0.2 0.3 0.4"
refused "$E" "no seed is finished in all 2 runs" "no common seed"

E=$T/network
random_run "$E/random" 4 2; grad_run "$E/grad" 2 3
result "$E/random" 1 random "0.1 0.2 0.3" models/a.blob; result "$E/grad" 1 grad "0.1 0.2 0.3 0.4" models/b.blob
refused "$E" "different networks (network: grad uses models/b.blob, random uses models/a.blob)" "different networks"

E=$T/saliency
random_run "$E/random" 4 2; grad_run "$E/grad" 2 3
result "$E/random" 1 random "0.1 0.2 0.3"; result "$E/grad" 1 grad "0.1 0.2 0.3 0.4"
sed -i 's|models/fastgaze.vxm|models/other.vxm|' "$E/random/seed0001/result.json"
refused "$E" "different saliency models (saliency_model: grad uses models/fastgaze.vxm, random uses models/other.vxm)" "different saliency models"

E=$T/runjson
random_run "$E/random" 4 2; grad_run "$E/grad" 2 3
result "$E/random" 1 random "0.1 0.2 0.3"; result "$E/grad" 1 grad "0.1 0.2 0.3 0.4"
printf '{"steps": 2, "candidates": ' > "$E/random/run.json"
refused "$E" "random/run.json: " "damaged run.json"

E=$T/trunc
random_run "$E/random" 4 2; grad_run "$E/grad" 2 3
sed -i 's/"trunc": 1,/"trunc": 0.7,/' "$E/grad/run.json"
result "$E/random" 1 random "0.1 0.2 0.3"; result "$E/grad" 1 grad "0.1 0.2 0.3 0.4"
refused "$E" "differ in trunc (grad: 0.7, random: 1)" "different truncation"

E=$T/objective
random_run "$E/random" 4 2 z ', "objective": "min"'; grad_run "$E/grad" 2 3
result "$E/random" 1 random "0.1 0.2 0.3"; result "$E/grad" 1 grad "0.1 0.2 0.3 0.4"
refused "$E" "differ in objective (grad: max, random: min)" "different objectives"

E=$T/corrupt
random_run "$E/random" 4 2; grad_run "$E/grad" 2 3
result "$E/random" 1 random "0.1 0.2 0.3"; result "$E/grad" 1 grad "0.1 0.2 0.3 0.4"
result "$E/grad" 2 grad "0.1 0.2 0.3 0.4"; printf '{"seed": 2, "max_sal' > "$E/grad/seed0002/result.json"
refused "$E" "grad/seed0002/result.json: " "damaged result.json"

E=$T/nan
random_run "$E/random" 4 2; grad_run "$E/grad" 2 3
result "$E/random" 1 random "0.1 0.2 0.3"; result "$E/grad" 1 grad "0.1 0.2 0.3 0.4"
sed -i 's/0.2, 0.3, 0.4/0.2, "x", 0.4/' "$E/grad/seed0001/result.json"
refused "$E" "item 2 is not a finite number" "a score that is not a number"

E=$T/nocost
random_run "$E/random" 4 2; grad_run "$E/grad" 2 3
sed -i 's/, "grad_cost": 2//' "$E/grad/run.json"
result "$E/random" 1 random "0.1 0.2 0.3"; result "$E/grad" 1 grad "0.1 0.2 0.3 0.4"
refused "$E" 'needs a positive number "grad_cost"' "grad run without grad_cost"

E=$T/method
random_run "$E/random" 4 2; grad_run "$E/grad" 2 3
result "$E/random" 1 random "0.1 0.2 0.3"; result "$E/grad" 1 random "0.1 0.2 0.3 0.4"
refused "$E" "grad/seed0001/result.json: method random, but the run's run.json says grad" "result.json of another method"

E=$T/unknown
random_run "$E/random" 4 2; grad_run "$E/grad" 2 3
sed -i 's/"method": "grad"/"method": "annealing"/' "$E/grad/run.json"
result "$E/random" 1 random "0.1 0.2 0.3"; result "$E/grad" 1 grad "0.1 0.2 0.3 0.4"
refused "$E" "unknown method 'annealing'" "unknown method"

E=$T/steps
random_run "$E/random" 4 2; grad_run "$E/grad" 2 3
result "$E/random" 1 random "0.1 0.2 0.3"; result "$E/random" 2 random "0.1 0.2"
result "$E/grad" 1 grad "0.1 0.2 0.3 0.4"; result "$E/grad" 2 grad "0.1 0.2 0.3 0.4"
refused "$E" "a run's seeds must have the same number of steps" "seeds with different step counts"

E=$T/single
random_run "$E/random" 4 2; result "$E/random" 1 random "0.1 0.2 0.3"
refused "$E" "a comparison needs at least two run folders" "one run only"

# --- a plain run folder, with or without run.json, stays a plain run ----------
P=$T/plain
result "$P" 3 random "0.1 0.2"
$BIN/salient report "$P" 2>/dev/null
check "[ \$? -eq 0 ] && [ -s '$P/summary.csv' ] && [ -s '$P/index.html' ] && ! [ -e '$P/compare.csv' ]" "a folder of seed folders without run.json should get a plain report"
check "$BIN/salient report --help | grep -q 'Comparison folder'" "report --help does not explain comparison folders"

# --- end to end: a real random search and a real gradient search on the tiny network
if need_shared fixtures/stylegan2 && need_shared data/fastgaze.vxm; then
    VXM=$SALIENT_SHARED/data/fastgaze.vxm
    TINY=$T/tiny.blob
    $BIN/weightconv "$SALIENT_SHARED/fixtures/stylegan2/tiny/tiny.pkl" "$TINY" >/dev/null 2>&1 || bad "weightconv tiny"
    STEPS=2; K=2; GSTEPS=3
    [ -n "${SALIENT_ASAN:-}" ] && ! full && STEPS=1 && K=1 && GSTEPS=2
    X=$T/e2e
    mkdir -p "$X"
    $BIN/salient search --network "$TINY" --saliency "$VXM" --outdir "$X/study" -q --seeds 0-1 --steps $STEPS --candidates $K 2> "$T/run.err"
    check '[ $? -eq 0 ]' "search failed: $(cat "$T/run.err")"
    cp -r "$X/study" "$T/run"
    $BIN/salient search --network "$TINY" --saliency "$VXM" --outdir "$X/grad" -q --seeds 0-1 --method grad --steps $GSTEPS \
        --grad-cost 3 --lr 0.05 2> "$T/grad.err"
    check '[ $? -eq 0 ]' "grad search failed: $(cat "$T/grad.err")"
    $BIN/salient report "$X" > /dev/null 2> "$X.err"
    check '[ $? -eq 0 ]' "e2e: report failed: $(cat "$X.err")"
    check "[ \$(wc -l < '$X.err') -eq 1 ]" "e2e: expected one line (no warning): $(cat "$X.err")"
    for s in 0 1; do
        per=$(awk -F'[][]' '/max_saliency_per_step/ { gsub(/,/, "", $2); print $2 }' "$X/study/seed000$s/result.json")
        echo "study random $K $s $per" >> "$X/listing"
        per=$(awk -F'[][]' '/max_saliency_per_step/ { gsub(/,/, "", $2); print $2 }' "$X/grad/seed000$s/result.json")
        echo "grad grad 3 $s $per" >> "$X/listing"
    done
    expect_csvs "$X"
    check "[ \"\$(field '$X/compare.csv' 0 study total_cost)\" = $((1 + STEPS * K)) ] && [ \"\$(field '$X/compare.csv' 0 grad total_cost)\" = $((1 + 3 * GSTEPS)) ]" \
          "e2e: total costs should be 1 + steps*K and 1 + 3*steps"
    for r in study grad; do
        final0=$(awk -F'[:,]' '/"final_max_saliency"/ { gsub(/ /, "", $2); print $2 }' "$X/$r/seed0000/result.json")
        check "[ \"\$(field '$X/compare.csv' 0 $r final_max_saliency)\" = '$final0' ]" "e2e: $r's final score is not its result.json's"
    done
    check "[ \"\$(field '$X/compare.csv' 0 study start_max_saliency)\" = \"\$(field '$X/compare.csv' 0 grad start_max_saliency)\" ]" \
          "e2e: the two methods do not start from the same score"
    check "grep -q 'sha256 <code class=\"hash\">' '$X/index.html' && grep -q 'href=\"study/index.html\"' '$X/index.html' && grep -q 'href=\"grad/index.html\"' '$X/index.html'" \
          "e2e: header sha256 or run links missing"
    check "cmp -s '$X/study/summary.csv' '$T/run/summary.csv' && cmp -s '$X/study/index.html' '$T/run/index.html'" "e2e: the study's own report changed"
fi

rm -rf "$T"
finish test_report_compare
