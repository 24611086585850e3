#!/bin/sh
# tests/bench.sh — the speed benchmark behind `make bench`: runs
# `salient bench`, which times the ffhq1024 generator and the saliency model,
# measures this machine's FP32 FMA peak, times every
# kernel type on StyleGAN2-1024 layer shapes (1 thread and all threads),
# prints GFLOP/s and % of peak and writes bench.json.
# Extra arguments are passed on, e.g.  sh tests/bench.sh --quick --threads 1
# Run it on an idle machine: other processes make the numbers pessimistic.
cd "$(dirname "$0")/.." || exit 1
BIN=${BIN:-bin}
if [ ! -x "$BIN/salient" ]; then
    echo "bench.sh: $BIN/salient is not built (run make)" >&2
    exit 1
fi
# The saliency model, if there is one here (make models, or the test fixtures).
SAL=""
for m in models/fastgaze.vxm "${SALIENT_SHARED:-../shared}/data/fastgaze.vxm"; do
    if [ -s "$m" ]; then SAL=$m; break; fi
done
exec "$BIN/salient" bench ${SAL:+--saliency "$SAL"} "$@"
