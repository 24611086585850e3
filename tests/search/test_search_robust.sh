#!/bin/sh
# test_search_robust.sh — `salient search` and friends against damaged files,
# signals, limits and a second process: a corrupted state.json (negative,
# huge, out-of-order or missing rows: each once read or wrote outside a fixed
# buffer) is refused with one line naming the file and the row; resuming with
# other options names them; two processes into one folder share the seeds
# (lock files) and give the same bytes as one; SIGINT/SIGTERM say how to
# resume and --resume then completes identically; "nothing to do"; no output
# folder after a load error; `report` without finished seeds fails; one
# --threads rule; `ulimit -f` gives an error (not SIGXFSZ) and no temp file.
# Runs with $BIN = bin or build-asan/bin; prints "N passed, N failed".
. "$(dirname "$0")/../lib.sh"
FX=$SALIENT_SHARED/fixtures/stylegan2
VXM=$SALIENT_SHARED/data/fastgaze.vxm
T=$SALIENT_TMP/test_search_robust.$$
rm -rf "$T"; mkdir -p "$T"
# the date line of index.html: fixed, so folders made on different days compare equal
export SOURCE_DATE_EPOCH=1700000000
TINY=$T/tiny.blob
ARGS="--network $TINY --saliency $T/sal.blob --steps 2 --candidates 3 --sigma 0.5 --threads 1"
search() { $BIN/salient search $ARGS "$@"; }
# Under the sanitizers an image takes seconds: the runs that only need to
# take time (signals, locks, two processes) are smaller there.
LARGS="--network $TINY --saliency $T/sal.blob --steps 2 --candidates 3 --sigma 0.5 --threads 1"
PAIR=0-3; PAIR_IMAGES=28; SIGS="INT TERM"
if [ -n "${SALIENT_ASAN:-}" ]; then
    LARGS="--network $TINY --saliency $T/sal.blob --steps 1 --candidates 2 --sigma 0.5 --threads 1"
    PAIR=0-1; PAIR_IMAGES=6; SIGS=INT
fi
lsearch() { $BIN/salient search $LARGS "$@"; }
# no sanitizer report and no crash: exit 1 exactly, and the one expected line
one_line_error() { # rc, stderr file
    [ "$1" -eq 1 ] && [ "$(wc -l < "$2")" -eq 1 ] && ! grep -q 'Sanitizer\|runtime error' "$2"
}

# --- checks that need no fixtures (the flags are refused before any file is read)
$BIN/salient generate --network "$T/nonexistent.blob" --seeds 0 --outdir "$T/ng" 2>"$T/ng.err"
check "[ \$? -eq 1 ] && [ ! -e '$T/ng' ]" "generate with a missing network left its folder: $(cat "$T/ng.err")"
# --- report without finished seeds ----------------------------------------------------
mkdir -p "$T/empty/seed0001"
$BIN/salient report "$T/empty" 2>"$T/rep.err"
check "one_line_error \$? '$T/rep.err' && grep -q 'no finished seeds' '$T/rep.err' && [ ! -e '$T/empty/summary.csv' ]" \
      "report of no finished seeds: $(cat "$T/rep.err")"

# --- one --threads rule -----------------------------------------------------------------
for cmd in "search $ARGS --seeds 0 --outdir $T/th" "generate --network $TINY --seeds 0 --outdir $T/th" \
           "saliency --model $T/sal.blob $T/nonexistent.png" "bench --quick"; do
    $BIN/salient $cmd --threads 2000 2>"$T/th.err" >/dev/null
    check "[ \$? -eq 2 ] && grep -q -- '--threads: expected an integer in 1..1024, got .2000.' '$T/th.err'" "${cmd%% *} --threads 2000: $(cat "$T/th.err")"
done
$BIN/salient generate --network "$T/nonexistent.blob" --seeds 0 --outdir "$T/th" --threads 1024 2>"$T/th.err"
check "[ \$? -eq 1 ] && ! grep -q -- '--threads' '$T/th.err'" "generate --threads 1024 refused: $(cat "$T/th.err")"

# --- from here on: the fixture generator and the real saliency model -----------
need_shared fixtures/stylegan2 && need_shared data/fastgaze.vxm || { [ "$fail" -eq 0 ] && rm -rf "$T"; finish test_search_robust; exit $((fail > 0)); }
$BIN/weightconv "$FX/tiny/tiny.pkl" "$TINY" >/dev/null 2>&1 || bad "weightconv tiny"
$BIN/weightconv "$VXM" "$T/sal.blob" >/dev/null 2>&1 || bad "weightconv fastgaze"

# --- the reference: one seed, uninterrupted -----------------------------------
search --seeds 0 --outdir "$T/ref" -q 2>"$T/ref.err"
check '[ $? -eq 0 ]' "reference run failed: $(cat "$T/ref.err")"
ROWS=$(grep -c '^  \[' "$T/ref/seed0000/state.json")
check "[ '$ROWS' -eq 7 ]" "state.json of 2 steps x 3 candidates should hold 7 rows, holds $ROWS"

# --- corrupted state.json: each edit is refused, naming file and row -------------
# corrupt NAME SED-EXPRESSION EXPECTED-FRAGMENT: a copy of the finished seed
# made unfinished (no result.json) with its state.json edited, then --resume.
corrupt() {
    d=$T/c_$1
    rm -rf "$d"; cp -r "$T/ref" "$d"; rm -f "$d/seed0000/result.json"
    sed -i "$2" "$d/seed0000/state.json"
    search --seeds 0 --outdir "$d" --resume -q 2>"$T/c.err"
    rc=$?
    check "one_line_error $rc '$T/c.err' && grep -q 'seed0000/state.json' '$T/c.err' && grep -q -- '$3' '$T/c.err'" \
          "state.json with $1: exit $rc, want one line with '$3': $(cat "$T/c.err")"
    check "[ ! -e '$d/seed0000/result.json' ]" "state.json with $1: the seed was finished anyway"
}
corrupt "a negative step"        's/^  \[2, 1, /  [-20, 1, /'   'log row 5: step must be a whole number in 0..2 (steps_done), got -20'
corrupt "step -1"                's/^  \[1, 0, /  [-1, 0, /'    'log row 1: step must be'
corrupt "a huge step"            's/^  \[2, 1, /  [1e300, 1, /' 'log row 5: step must be a whole number'
corrupt "a fractional step"      's/^  \[2, 1, /  [1.5, 1, /'   'log row 5: step must be'
corrupt "a candidate too large"  's/^  \[1, 2, /  [1, 7, /'     'log row 3: candidate must be a whole number in 0..2'
corrupt "a negative candidate"   's/^  \[1, 2, /  [1, -5, /'    'log row 3: candidate must be'
corrupt "rows out of order"      's/^  \[1, 2, /  [2, 2, /'     'log row 3: step 2 candidate 2 out of order'
corrupt "a missing row"          '/^  \[2, 1, /d'               'the log has 6 rows'
corrupt "steps_done too large"   's/"steps_done": 2/"steps_done": 9/' 'steps_done is not a whole number in 0..2'
corrupt "steps_done negative"    's/"steps_done": 2/"steps_done": -20/' 'steps_done is not a whole number in 0..2'
corrupt "another seed"           's/"seed": 0,/"seed": 7,/'     'not the state of seed 0'
corrupt "a row of 6 values"      's/^  \[1, 1, \([^,]*\), /  [1, 1, /' 'log row 2: not a list of 7 values'
corrupt "chosen 2"               's/^  \[0, 0, \([^,]*\), \([0-9]*\), \([0-9]*\), 1,/  [0, 0, \1, \2, \3, 2,/' 'log row 0: chosen is not 0 or 1'
corrupt "a NaN-like score"       's/^  \[1, 1, [^,]*,/  [1, 1, "x",/' 'log row 2: max_saliency is not a finite number'
corrupt "a negative distance"    's/^  \[1, 1, \([^,]*\), \([0-9]*\), \([0-9]*\), \([01]\), /  [1, 1, \1, \2, \3, \4, -/' 'log row 2: distance'
# two chosen candidates in step 1 (candidate 0..2: set every row of step 1 chosen)
corrupt "two chosen in a step"   's/^  \[1, \([0-9]\), \([^,]*\), \([0-9]*\), \([0-9]*\), 0,/  [1, \1, \2, \3, \4, 1,/' 'a second chosen candidate in step 1'
# an intact copy still resumes (the test's edits are what is refused)
rm -rf "$T/intact"; cp -r "$T/ref" "$T/intact"; rm -f "$T/intact/seed0000/result.json"
search --seeds 0 --outdir "$T/intact" --resume -q 2>"$T/intact.err"
check '[ $? -eq 0 ] && diff -r "$T/ref" "$T/intact" >/dev/null' "an intact state.json does not resume to the same files: $(cat "$T/intact.err")"

# --- resuming with other options names them -----------------------------------------
search --seeds 0 --outdir "$T/ref" --resume --steps 3 --candidates 4 --fast -q 2>"$T/opt.err"
check "[ \$? -ne 0 ] && grep -q 'steps: folder 2, now 3' '$T/opt.err' && grep -q 'candidates: folder 3, now 4' '$T/opt.err' && grep -q 'fast: folder off, now on' '$T/opt.err'" \
      "other options: $(cat "$T/opt.err")"
check "! grep -q '{\"steps\"' '$T/opt.err'" "the message still prints raw run.json: $(cat "$T/opt.err")"

# --- nothing to do ----------------------------------------------------------------
search --seeds 0 --outdir "$T/ref" --resume 2>"$T/nothing.err"
check "[ \$? -eq 0 ] && grep -q 'nothing to do' '$T/nothing.err' && ! grep -q '0 images' '$T/nothing.err'" "finished run: $(cat "$T/nothing.err")"

# --- SIGINT and SIGTERM: a message, then --resume completes identically --------------
lsearch --seeds 0-1 --outdir "$T/sref" -q 2>/dev/null
for sig in $SIGS; do
    d=$T/sig$sig
    env --default-signal=INT $BIN/salient search $LARGS --seeds 0-1 --outdir "$d" 2>"$T/sig.err" &
    pid=$!
    i=0
    while [ $i -lt 1200 ] && [ ! -s "$d/seed0000/state.json" ]; do sleep 0.05; i=$((i+1)); done
    kill -$sig $pid
    wait $pid
    rc=$?
    check "[ $rc -gt 128 ] && grep -q 'interrupted; run the same command with --resume' '$T/sig.err'" \
          "SIG$sig: exit $rc, stderr: $(tail -n 2 "$T/sig.err")"
    lsearch --seeds 0-1 --outdir "$d" --resume -q 2>"$T/sigr.err"
    check '[ $? -eq 0 ]' "resume after SIG$sig failed: $(cat "$T/sigr.err")"
    check "diff -r '$T/sref' '$d' >/dev/null" "resume after SIG$sig differs from an uninterrupted run: $(diff -rq "$T/sref" "$d" | head -3)"
done

# --- a seed locked by another process is done last, after waiting for it -------------
# (the holder here is flock(1), which lets go once the search has said so)
mkdir -p "$T/lk"
: > "$T/lk.err"
echo "pid 4242 on elsewhere" > "$T/lk/seed0001.lock"
flock "$T/lk/seed0001.lock" sh -c "i=0; while [ \$i -lt 2400 ] && ! grep -q 'other seeds first' '$T/lk.err'; do sleep 0.05; i=\$((i+1)); done" &
fl=$!
sleep 0.3
lsearch --seeds 0-1 --outdir "$T/lk" 2>"$T/lk.err"
rc=$?
wait $fl
check "[ $rc -eq 0 ] && grep -q 'seed0001 is being searched by pid 4242 on elsewhere (lock file .*seed0001.lock); doing the other seeds first' '$T/lk.err'" \
      "locked seed: exit $rc: $(cat "$T/lk.err")"
check "grep -q 'waiting for seed0001' '$T/lk.err'" "no word about waiting: $(cat "$T/lk.err")"
check "[ -s '$T/lk/seed0001/result.json' ] && [ \$(wc -l < '$T/lk/summary.csv') -eq 3 ]" "the locked seed was not searched after all"
check "[ -z \"\$(ls '$T/lk' | grep lock)\" ]" "lock files left: $(ls "$T/lk")"

# --- two processes into one folder: the seeds are shared, the bytes are the same -------
# (the one-process reference: the SIGINT reference when that is the same run)
if [ "$PAIR" = 0-1 ]; then cp -r "$T/sref" "$T/one"; else lsearch --seeds $PAIR --outdir "$T/one" -q 2>/dev/null; fi
lsearch --seeds $PAIR --outdir "$T/two" 2>"$T/two_a.err" &
pa=$!
i=0
while [ $i -lt 1200 ] && [ ! -e "$T/two/seed0000.lock" ]; do sleep 0.02; i=$((i+1)); done
lsearch --seeds $PAIR --outdir "$T/two" 2>"$T/two_b.err"
rb=$?
wait $pa
ra=$?
check "[ $ra -eq 0 ] && [ $rb -eq 0 ]" "concurrent runs: exit $ra and $rb: $(cat "$T/two_a.err" "$T/two_b.err" | tail -n 4)"
check "diff -r '$T/one' '$T/two' >/dev/null" "two processes give other files than one: $(diff -rq "$T/one" "$T/two" | head -3)"
# each image made once: the two "N images" add up to what one process makes
imgs=$(cat "$T/two_a.err" "$T/two_b.err" | sed -n 's/.*; \([0-9]*\) images (.*/\1/p' | awk '{s += $1} END {print s + 0}')
check "[ '$imgs' -eq $PAIR_IMAGES ]" "the two processes made $imgs images together, one makes $PAIR_IMAGES (duplicated work?)"
check "grep -q 'is being searched by pid' '$T/two_b.err' '$T/two_a.err'" "no process met the other's lock"

# --- load errors leave no output folder (search and generate) -------------------------
printf '\223NUMPY\001\000v\000{\047descr\047: \047<f4\047, \047fortran_order\047: False, \047shape\047: (3,), }                                                            \012\315\314\314=\315\314\314=\315\314\314=' > "$T/bad_sigma.npy"
for args in "--network $T/nonexistent.blob --saliency $T/sal.blob" "--network $TINY --saliency $TINY" \
            "--network $TINY --saliency $T/sal.blob --sigma-file $T/bad_sigma.npy"; do
    $BIN/salient search $args --seeds 0 --outdir "$T/nf/deeper" -q 2>"$T/nf.err"
    rc=$?
    check "one_line_error $rc '$T/nf.err' && [ ! -e '$T/nf' ]" "search $args: exit $rc, folder left: $(ls "$T/nf" 2>&1) $(cat "$T/nf.err")"
done
: > "$T/afile"
$BIN/salient search $ARGS --seeds 0 --outdir "$T/afile/sub" -q 2>"$T/af.err"
check "one_line_error \$? '$T/af.err' && grep -q 'afile' '$T/af.err'" "outdir under a file: $(cat "$T/af.err")"

# --- ulimit -f: an error naming the file, no SIGXFSZ, no temporary file ------------------
mkdir -p "$T/fs"
(ulimit -f 40; exec $BIN/weightconv "$FX/tiny/tiny.pkl" "$T/fs/out.blob") >/dev/null 2>"$T/fs.err"
rc=$?
check "[ $rc -eq 1 ] && grep -q 'out.blob' '$T/fs.err' && grep -q 'File too large' '$T/fs.err'" "weightconv over ulimit -f: exit $rc: $(cat "$T/fs.err")"
check "[ -z \"\$(ls '$T/fs')\" ]" "files left after the failed write: $(ls "$T/fs")"
# a temporary file of a process that was killed (here: the older naming, pid of an ended process)
sh -c 'exit 0' & dead=$!; wait $dead
head -c 5000 /dev/zero > "$T/fs/out.blob.tmp.$dead"
$BIN/weightconv "$FX/tiny/tiny.pkl" "$T/fs/out.blob" >/dev/null 2>&1
check "[ \$? -eq 0 ] && [ \"\$(ls '$T/fs')\" = out.blob ]" "the stale temporary file was not removed: $(ls "$T/fs")"

[ "$fail" -eq 0 ] && rm -rf "$T"
finish test_search_robust
