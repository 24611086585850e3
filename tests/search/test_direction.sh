#!/bin/sh
# test_direction.sh — `salient direction` end to end on the fixture generator
# `tiny` with the real saliency model: --method grad writes its files and
# moving the faces along +direction raises their mean max saliency relative
# to -direction; same bytes on a rerun; --method regression reads a real
# random-search folder (regenerating its candidates, which it checks against
# latents.npy) and compares with the grad estimate; clear errors (no search
# folder, a folder searched with another network) with nothing left behind.
. "$(dirname "$0")/../lib.sh"
need_shared fixtures/stylegan2/tiny || { finish test_direction; exit 0; }
need_shared data/fastgaze.vxm || { finish test_direction; exit 0; }
FX=$SALIENT_SHARED/fixtures/stylegan2
VXM=$SALIENT_SHARED/data/fastgaze.vxm
T=$SALIENT_TMP/test_direction.$$
rm -rf "$T"; mkdir -p "$T"
TINY=$T/tiny.blob
$BIN/weightconv "$FX/tiny/tiny.pkl" "$TINY" >/dev/null 2>&1 || bad "weightconv tiny"
$BIN/weightconv "$FX/tiny_clamp/tiny_clamp.pkl" "$T/clamp.blob" >/dev/null 2>&1 || bad "weightconv tiny_clamp"
dir() { $BIN/salient direction --network "$TINY" --saliency "$VXM" "$@"; }
# ASan: the saliency model is ~10x slower there, so fewer faces and candidates;
# `make test` (not test-full) also fewer seeds and steps in the normal build and
# one face under ASan. (2 seeds x 8 candidates is about the least for which the
# regression still points the grad way: cosine 0.22 there, 0.37 with 4 x 16.)
if [ -n "${SALIENT_ASAN:-}" ]; then SEEDS=0-1; B=5; F=2; ST=1; K=8; full || F=1
elif full; then SEEDS=0-7; B=200; F=4; ST=2; K=16
else SEEDS=0-3; B=50; F=2; ST=1; K=16; fi

$BIN/salient direction --help >"$T/help.txt" 2>&1
check '[ $? -eq 0 ] && grep -q -- "--method" "$T/help.txt"' "direction --help"
dir --outdir "$T/x" >/dev/null 2>"$T/e1.txt"; rc=$?
check "[ $rc -eq 2 ] && grep -q -- '--seeds' '$T/e1.txt'" "missing --seeds: rc=$rc"
dir --method regression --outdir "$T/x" 2>"$T/e2.txt"; rc=$?
check "[ $rc -eq 2 ] && grep -q -- '--from' '$T/e2.txt'" "regression without --from: rc=$rc"
dir --method regression --from "$T/nothing" --outdir "$T/x" 2>"$T/e3.txt"; rc=$?
check "[ $rc -eq 1 ] && grep -q 'nothing' '$T/e3.txt'" "no search folder: rc=$rc $(cat "$T/e3.txt")"
check "[ ! -e '$T/x' ]" "a failed run left the output folder behind"

# --- grad ---------------------------------------------------------------------
dir --seeds $SEEDS --bootstrap $B --faces $F --outdir "$T/g" 2>"$T/g.err"
check '[ $? -eq 0 ]' "direction grad failed: $(tail -3 "$T/g.err")"
for f in direction.npy direction.json direction.png; do check "[ -s '$T/g/$f' ]" "missing $f"; done
means=$(sed -n 's/.*"mean_max_saliency": \[\(.*\)\].*/\1/p' "$T/g/direction.json" | tr -d ',')
check "echo '$means' | awk '{exit !(NF == 5 && \$4 > \$2 && \$5 > \$1)}'" "+direction not more salient than -direction: $means"
cos=$(sed -n 's/.*"mean_cosine": \([-0-9.eE+]*\).*/\1/p' "$T/g/direction.json")
check "awk -v c='$cos' 'BEGIN {exit !(c != \"\" && c > 0 && c <= 1)}'" "bootstrap mean cosine $cos"
if [ -z "${SALIENT_ASAN:-}" ]; then
dir --seeds $SEEDS --bootstrap $B --faces $F --outdir "$T/g2" --threads 1 2>/dev/null
for f in direction.npy direction.json direction.png; do
    check "sed 's/g2/g/' '$T/g2/$f' | cmp -s - '$T/g/$f' || cmp -s '$T/g2/$f' '$T/g/$f'" "$f differs on a rerun (1 thread)"
done
fi

# --- regression over a real random-search folder --------------------------------
$BIN/salient search --network "$TINY" --saliency "$VXM" --seeds $SEEDS --steps $ST --candidates $K --space w \
    --outdir "$T/s" -q 2>"$T/s.err" || bad "search: $(tail -2 "$T/s.err")"
dir --method regression --from "$T/s" --bootstrap $B --compare "$T/g/direction.npy" --outdir "$T/r" 2>"$T/r.err"
check '[ $? -eq 0 ]' "direction regression failed: $(tail -3 "$T/r.err")"
c=$(sed -n 's/.*"cosine": \([-0-9.eE+]*\).*/\1/p' "$T/r/direction.json")
check "awk -v c='$c' 'BEGIN {exit !(c != \"\" && c > 0.2)}'" "regression vs grad cosine $c (expected clearly positive)"
check "grep -q '\"candidates\": $(( ($(echo $SEEDS | cut -d- -f2) + 1) * ST * K ))' '$T/r/direction.json'" "candidate count"
# a folder searched with another network
$BIN/salient direction --network "$T/clamp.blob" --saliency "$VXM" --method regression --from "$T/s" --outdir "$T/y" 2>"$T/e4.txt"; rc=$?
check "[ $rc -eq 1 ] && grep -q 'another --network' '$T/e4.txt'" "mismatched network: rc=$rc $(cat "$T/e4.txt")"
check "[ ! -e '$T/y' ]" "a refused folder left output behind"
# --space that is not the folder's
dir --method regression --from "$T/s" --space z --outdir "$T/y" 2>"$T/e5.txt"; rc=$?
check "[ $rc -eq 1 ] && grep -q 'space' '$T/e5.txt'" "wrong --space: rc=$rc"

rm -rf "$T"
finish test_direction
