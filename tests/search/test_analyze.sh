#!/bin/sh
# test_analyze.sh — `salient analyze` on search folders of the tiny fixture
# generator: the outputs exist and hold one row per seed and arm, numbers
# agree with what the search recorded (max saliency, latent distance),
# seeds are paired across folders by number, reruns give the same bytes,
# index.html carries the section (also after `salient report`), and bad
# folders fail with one clear line and no output.
# Runs with $BIN = bin or build-asan/bin; prints "N passed, N failed".
. "$(dirname "$0")/../lib.sh"
FX=$SALIENT_SHARED/fixtures/stylegan2
VXM=$SALIENT_SHARED/data/fastgaze.vxm
T=$SALIENT_TMP/test_analyze.$$
rm -rf "$T"; mkdir -p "$T"

# --- bad input: one line, nonzero exit, nothing written (no fixtures needed) ---
mkdir -p "$T/empty"
$BIN/salient analyze -q "$T/empty" 2>"$T/e1" >/dev/null
rc=$?
check "[ $rc -eq 1 ] && [ \$(wc -l < '$T/e1') -eq 1 ] && grep -q 'not a salient search folder' '$T/e1'" "empty folder: exit $rc, $(cat "$T/e1")"
check "[ ! -e '$T/empty/analysis.csv' ]" "a failed analyze wrote analysis.csv"
$BIN/salient analyze -q "$T/nonexistent" 2>"$T/e3" >/dev/null
check "[ \$? -eq 1 ] && [ \$(wc -l < '$T/e3') -eq 1 ]" "missing folder: $(cat "$T/e3")"
for args in "" "--bogus $T/study" "--bootstrap x $T/study" "--rng-seed -1 $T/study" "--out"; do
    $BIN/salient analyze $args 2>"$T/e5" >/dev/null
    rc=$?
    check "[ $rc -eq 2 ] && [ \$(wc -l < '$T/e5') -le 1 ]" "bad args '$args': exit $rc, $(cat "$T/e5")"
done
$BIN/salient analyze --help | grep -q 'usage: salient analyze'
check '[ $? -eq 0 ]' "--help"

# --- from here on: searches with the fixture generator and the real saliency model
need_shared fixtures/stylegan2 && need_shared data/fastgaze.vxm || { rm -rf "$T"; finish test_analyze; exit $((fail > 0)); }
# under the sanitizers: 2 seeds (a later folder of seeds 1-2), and in `make test`
# one step in the second arm (sigma 0.1). (The study itself needs 2 candidates:
# with one, max saliency falls and the summary has no "+" to check.)
SEEDS=0-2; NS=3; LATER=1-3; CAND=2; SMALL_STEPS=2
if [ -n "${SALIENT_ASAN:-}" ]; then SEEDS=0-1; NS=2; full || { LATER=1-2; SMALL_STEPS=1; }; fi
TINY=$T/tiny.blob
$BIN/weightconv "$FX/tiny/tiny.pkl" "$TINY" >/dev/null 2>&1 || bad "weightconv tiny"
run() { # outdir, extra args...
    d=$1; shift
    $BIN/salient search --network "$TINY" --saliency "$VXM" --outdir "$d" -q --candidates $CAND "$@" 2>>"$T/search.err"
}
run "$T/study" --seeds $SEEDS --steps 2 --sigma 0.5
run "$T/small" --seeds $SEEDS --steps $SMALL_STEPS --sigma 0.1
run "$T/later" --seeds $LATER --steps 1 --sigma 0.5
check "[ -s '$T/study/summary.csv' ] && [ -s '$T/small/summary.csv' ] && [ -s '$T/later/summary.csv' ]" "searches failed: $(cat "$T/search.err")"

# --- one folder: outputs in the folder, section in index.html -------------
$BIN/salient analyze -q "$T/study" >"$T/one.out" 2>"$T/one.err"
check '[ $? -eq 0 ]' "analyze one folder failed: $(cat "$T/one.err")"
for f in analysis.csv analysis_steps.csv analysis.json analysis.html analysis.css analysis_section.html analysis_mask.png analysis_skin_L.png analysis_latent_distance.png; do
    check "[ -s '$T/study/$f' ]" "missing $f"
done
check "[ \$(wc -l < '$T/study/analysis.csv') -eq $((NS + 1)) ]" "analysis.csv: want one row per seed"
check "[ \$(wc -l < '$T/study/analysis_steps.csv') -eq $((3 * NS + 1)) ]" "analysis_steps.csv: want one row per seed and step"
check "grep -q 'id=\"analysis\"' '$T/study/index.html' && grep -q 'Saliency increase' '$T/study/index.html'" "index.html lacks the analysis section"
check "grep -q '^skin L\\*: ' '$T/one.out' && grep -q '^max saliency: +' '$T/one.out'" "summary lines missing: $(head -3 "$T/one.out")"
# every row has as many fields as the header
check "awk -F, 'FNR==1 {n=NF} NF!=n {exit 1}' '$T/study/analysis.csv' '$T/study/analysis_steps.csv'" "ragged CSV"

# --- numbers agree with what the search recorded -------------------------
col() { # file, column name -> prints that column (no header)
    awk -F, -v name="$2" 'NR==1 {for (i=1;i<=NF;i++) if ($i==name) c=i; next} {print $c}' "$1"
}
col "$T/study/analysis.csv" max_saliency_first > "$T/a_first"
col "$T/study/analysis.csv" max_saliency_final > "$T/a_final"
col "$T/study/summary.csv" start_max_saliency > "$T/s_first"
col "$T/study/summary.csv" final_max_saliency > "$T/s_final"
check "paste -d, '$T/a_first' '$T/s_first' '$T/a_final' '$T/s_final' | awk -F, '{d=\$1-\$2; e=\$3-\$4; if (d*d>1e-14 || e*e>1e-14) exit 1} END {exit NR!=$NS}'" "max saliency differs from summary.csv"
# latent distance (from latents.npy) = the search's own distance of the final step (result.json)
col "$T/study/analysis.csv" latent_distance > "$T/a_dist"
for s in $(col "$T/study/analysis.csv" seed); do
    sed -n 's/.*"distance_per_step": \[\(.*\)\].*/\1/p' "$T/study/seed$(printf %04d $s)/result.json" | awk -F', ' '{print $NF}'
done > "$T/r_dist"
check "paste -d, '$T/a_dist' '$T/r_dist' | awk -F, '{d=(\$1-\$2)/\$2; if (d<0) d=-d; if (d>1e-6 || \$2<=0) exit 1} END {exit NR!=$NS}'" "latent distance differs from result.json: $(paste -d, "$T/a_dist" "$T/r_dist" | tr '\n' ' ')"
# every change is final - first
check "awk -F, 'NR==1 {for (i=1;i<=NF;i++) h[i]=\$i; next} {for (i=1;i<=NF;i++) if (h[i] ~ /_change\$/ && h[i] !~ /hue/ && \$i!=\"\") { d=\$i-(\$(i-1)-\$(i-2)); if (d*d>1e-10) exit 1 }}' '$T/study/analysis.csv'" "a change column is not final - first"
# step 0 rows: no change from the original
check "awk -F, 'NR==1 {for (i=1;i<=NF;i++) if (\$i==\"latent_distance\" || \$i==\"delta_e_face\") c[i]=1; next} \$3==0 {for (i in c) if (\$i+0!=0) exit 1}' '$T/study/analysis_steps.csv'" "step 0 shows a change"

# --- same bytes on a rerun (into another folder) --------------------------
$BIN/salient analyze -q "$T/study" --out "$T/again" >"$T/again.out" 2>&1
check '[ $? -eq 0 ]' "analyze --out failed"
for f in analysis.csv analysis_steps.csv analysis.json analysis_section.html analysis_mask.png analysis_skin_ita.png; do
    check "cmp -s '$T/study/$f' '$T/again/$f'" "$f differs on a rerun"
done
check "cmp -s '$T/one.out' '$T/again.out'" "summary differs on a rerun"
check "[ ! -e '$T/again/index.html' ]" "--out into a plain folder must not make an index.html"
# salient report keeps the section
$BIN/salient report "$T/study" 2>/dev/null
check "grep -q 'id=\"analysis\"' '$T/study/index.html'" "salient report dropped the analysis section"

# --- two arms, paired by seed -----------------------------------------------
$BIN/salient analyze -q "$T/study" "$T/small" --out "$T/cmp" >"$T/cmp.out" 2>"$T/cmp.err"
check '[ $? -eq 0 ]' "analyze two folders failed: $(cat "$T/cmp.err")"
check "[ \$(wc -l < '$T/cmp/analysis.csv') -eq $((2 * NS + 1)) ]" "two arms: want one row per seed and arm"
check "grep -q 'study - small: ' '$T/cmp.out' && grep -q 'sigma=0.5' '$T/cmp.out' && grep -q 'sigma=0.1' '$T/cmp.out'" "comparison line missing: $(sed -n 2p "$T/cmp.out")"
check "grep -q '\"mean_a_minus_b\"' '$T/cmp/analysis.json'" "analysis.json lacks the differences"
# the difference of the latent distances is the mean of the paired differences
da=$(awk -F, 'NR==1 {for (i=1;i<=NF;i++) if ($i=="latent_distance") c=i; next} $1=="study" {s+=$c; n++} $1=="small" {s-=$c} END {printf "%.9g", s/n}' "$T/cmp/analysis.csv")
dj=$(tr -d '\n' < "$T/cmp/analysis.json" | sed 's/.*"name": "latent_distance"//' | sed -n 's/.*"mean_a_minus_b": \([-0-9.e+]*\).*/\1/p')
check "awk -v a='$da' -v b='$dj' 'BEGIN {d=a-b; if (d<0) d=-d; exit !(b!=\"\" && d<=1e-6*(a<0?-a:a))}'" "difference of latent distance: csv $da, json $dj"
# folders with other seeds: only the common ones are used
$BIN/salient analyze -q "$T/study" "$T/later" --out "$T/pair" >/dev/null 2>"$T/pair.err"
check '[ $? -eq 0 ]' "analyze with partly other seeds failed: $(cat "$T/pair.err")"
want=$( [ $NS -eq 3 ] && echo '1,2,' || echo '1,')
check "[ \"\$(col '$T/pair/analysis.csv' seed | sort -u | tr '\n' ',')\" = '$want' ]" "pairing: seeds $(col "$T/pair/analysis.csv" seed | sort -u | tr '\n' ' ')"
# (dropped: the seeds of one folder only: 0 of the study, those past it in the later one)
dropped=$(( 1 + ${LATER#*-} - (NS - 1) ))
check "grep -q '\"seeds_dropped\": $dropped' '$T/pair/analysis.json'" "seeds_dropped wrong: $(grep seeds_dropped "$T/pair/analysis.json")"

# --- bad input that needs a search folder ------------------------------------
mkdir -p "$T/noseeds"; cp "$T/study/run.json" "$T/noseeds/"
$BIN/salient analyze -q "$T/noseeds" 2>"$T/e2" >/dev/null
check "[ \$? -eq 1 ] && grep -q 'no finished seed' '$T/e2'" "folder without seeds: $(cat "$T/e2")"
cp -r "$T/study" "$T/broken"; rm -f "$T/broken"/analysis*
printf 'not a png' > "$T/broken/seed0001/step01.png"
$BIN/salient analyze -q "$T/broken" 2>"$T/e4" >/dev/null
check "[ \$? -eq 1 ] && [ \$(wc -l < '$T/e4') -eq 1 ] && grep -q 'seed0001/step01.png' '$T/e4'" "corrupt frame: $(cat "$T/e4")"
check "[ ! -e '$T/broken/analysis.csv' ]" "corrupt frame: analysis.csv written"
rm -rf "$T"
finish test_analyze
