#!/bin/sh
# test_mpi.sh — bin/salient-mpi (make MPI=1): 3 ranks give the same
# summary.csv and seed folders as one `salient search` process; a rank killed
# mid-run loses no finished seed and `--resume` completes the run identically.
# Runs with $BIN = bin or build-asan/bin; prints "N passed, N failed".
. "$(dirname "$0")/../lib.sh"
FX=$SALIENT_SHARED/fixtures/stylegan2
VXM=$SALIENT_SHARED/data/fastgaze.vxm
T=$SALIENT_TMP/test_mpi.$$
rm -rf "$T"; mkdir -p "$T"
# the date line of index.html: fixed, so folders made on different days compare equal
export SOURCE_DATE_EPOCH=1700000000
# Open MPI's own allocations are not ours to leak-check.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
export OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN="mpirun --allow-run-as-root --oversubscribe"

# Open MPI is optional: without it (or without a salient-mpi build) one skip line.
# Under ASan this test takes minutes (3 multi-rank runs): `make test` runs it
# with the normal build only, `make test-full` (and CI) also under ASan.
if ! need_command mpirun "openmpi-bin libopenmpi-dev"; then rm -rf "$T"; finish test_mpi; exit $((fail > 0)); fi
if [ ! -x "$BIN/salient-mpi" ]; then
    skip "$BIN/salient-mpi not built (make test builds it when mpicc is installed: apt-get install libopenmpi-dev)"
    rm -rf "$T"; finish test_mpi; exit $((fail > 0))
fi
need_shared fixtures/stylegan2 && need_shared data/fastgaze.vxm || { rm -rf "$T"; finish test_mpi; exit $((fail > 0)); }
if [ -n "${SALIENT_ASAN:-}" ] && ! full; then
    rm -rf "$T"
    skip "the ASan run of the MPI test belongs to make test-full (the normal build ran it)"
    finish test_mpi; exit $((fail > 0))
fi
$BIN/weightconv "$FX/tiny/tiny.pkl" "$T/tiny.blob" >/dev/null 2>&1
SEEDS=0-5; [ -n "${SALIENT_ASAN:-}" ] && SEEDS=0-3
ARGS="--network $T/tiny.blob --saliency $VXM --seeds $SEEDS --steps 2 --candidates 2 --sigma 0.5 --threads 1 -q"

$BIN/salient search $ARGS --outdir "$T/single" 2>"$T/single.err"
check '[ $? -eq 0 ]' "single-process run failed: $(cat "$T/single.err")"

$MPIRUN -np 3 $BIN/salient-mpi $ARGS --outdir "$T/mpi" >"$T/mpi.out" 2>&1
check '[ $? -eq 0 ]' "mpirun -np 3 failed: $(tail -5 "$T/mpi.out")"
check "cmp -s '$T/single/summary.csv' '$T/mpi/summary.csv'" "summary.csv of 3 ranks differs from one process"
check "diff -r '$T/single' '$T/mpi' >/dev/null" "seed folders of 3 ranks differ from one process"

# Kill rank 1 once at least one seed is finished, then resume.
$MPIRUN -np 3 $BIN/salient-mpi $ARGS --outdir "$T/kill" >"$T/kill.out" 2>&1 &
mp=$!
i=0
while [ $i -lt 1200 ] && [ -z "$(ls "$T"/kill/seed*/result.json 2>/dev/null)" ]; do sleep 0.05; i=$((i+1)); done
victim=""
for p in $(pgrep -f "salient-mpi.*$T/kill" 2>/dev/null); do
    if tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then victim=$p; fi
done
check "[ -n '$victim' ]" "could not find rank 1 to kill (run finished too early?)"
[ -n "$victim" ] && kill -9 "$victim"
wait $mp
check "[ ! -s '$T/kill/summary.csv' ]" "the killed run still wrote a summary"
finished=$(ls "$T"/kill/seed*/result.json 2>/dev/null | wc -l)
check "[ $finished -ge 1 ]" "no finished seed survived the crash"
$MPIRUN -np 2 $BIN/salient-mpi $ARGS --outdir "$T/kill" --resume >"$T/resume.out" 2>&1
check '[ $? -eq 0 ]' "resume after the crash failed: $(tail -5 "$T/resume.out")"
rm -f "$T"/kill/seed*/*.tmp.* "$T"/kill/*.tmp.*
check "diff -r '$T/single' '$T/kill' >/dev/null" "crashed + resumed run differs from one process"

# --method grad passes through: the same files as one process; the steps of
# --budget come from the grad cost rank 0 measured and wrote into run.json,
# which the other ranks read (so every seed gets the same steps).
G="--network $T/tiny.blob --saliency $VXM --seeds 0-2 --method grad --radius 0.5 --threads 1 -q"
$MPIRUN -np 2 $BIN/salient-mpi $G --budget 4 --outdir "$T/gm" >"$T/gm.out" 2>&1
check '[ $? -eq 0 ]' "salient-mpi --method grad failed: $(tail -5 "$T/gm.out")"
gsteps=$(sed -n 's/^{"steps": \([0-9]*\),.*/\1/p' "$T/gm/run.json")
check "grep -q '\"method\": \"grad\"' '$T/gm/run.json' && [ -n '$gsteps' ] && [ \$(ls '$T'/gm/seed000[0-2]/step0$gsteps.png | wc -l) -eq 3 ] && [ -z \"\$(ls '$T'/gm/seed*/step0$((gsteps + 1)).png 2>/dev/null)\" ]" \
    "salient-mpi --method grad --budget: seeds with other steps than run.json's $gsteps"
gc=$(sed -n 's/.*"grad_cost": \([0-9.e+-]*\),.*/\1/p' "$T/gm/run.json")
$BIN/salient search $G --budget 4 --grad-cost "$gc" --outdir "$T/gs" 2>"$T/gs.err"
check "[ \$? -eq 0 ] && diff -r '$T/gm' '$T/gs' >/dev/null" "salient-mpi --method grad differs from one process: $(diff -rq "$T/gm" "$T/gs" | head -3) $(cat "$T/gs.err")"

# Bad options: rank 0 alone reports, one line, nonzero exit.
$MPIRUN -np 2 $BIN/salient-mpi --seeds 0 >"$T/bad.out" 2>&1
rc=$?
check "[ $rc -ne 0 ] && [ \$(grep -c 'required' '$T/bad.out') -eq 1 ]" "bad options: exit $rc, output: $(cat "$T/bad.out")"

rm -rf "$T"
finish test_mpi
