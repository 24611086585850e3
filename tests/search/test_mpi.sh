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

# Bad options: rank 0 alone reports, one line, nonzero exit.
$MPIRUN -np 2 $BIN/salient-mpi --seeds 0 >"$T/bad.out" 2>&1
rc=$?
check "[ $rc -ne 0 ] && [ \$(grep -c 'required' '$T/bad.out') -eq 1 ]" "bad options: exit $rc, output: $(cat "$T/bad.out")"

rm -rf "$T"
finish test_mpi
