#!/bin/sh
# data/demo.sh — `make demo`: the study in miniature on a fresh machine.
# Fetches the published models (make models) if they are not there yet
# (MODELS_FROM=DIR: from a folder instead of the network), then
# runs the random search for a few seeds and says where the results are.
#   DEMO_SEEDS (default 0-3), DEMO_STEPS (5), DEMO_CANDIDATES (8), DEMO_OUT (demo)
set -u
cd "$(dirname "$0")/.." || exit 1
SEEDS=${DEMO_SEEDS:-0-3}
STEPS=${DEMO_STEPS:-5}
K=${DEMO_CANDIDATES:-8}
OUT=${DEMO_OUT:-demo}

# A download that failed before is not retried here (`make models` retries).
GET_MODELS_NO_RETRY=1 sh data/get-models.sh
NET=models/ffhq.blob
SAL=models/fastgaze.vxm
if [ ! -s "$SAL" ]; then
    echo "make demo: the saliency model is missing (see the 'make models' message above)." >&2
    exit 1
fi
if [ ! -s "$NET" ]; then
    echo "make demo: NVIDIA's ffhq.pkl is not available; running the pipeline on a RANDOM-weight" >&2
    echo "           256x256 generator instead (the images will be noise, not faces)." >&2
    NET=models/random-ffhq256.blob
    [ -s "$NET" ] || bin/weightconv --random ffhq256 "$NET" || exit 1
fi
rm -rf "$OUT"
echo "make demo: salient search --seeds $SEEDS --steps $STEPS --candidates $K  (this takes a while on 2 cores)"
bin/salient search --network "$NET" --saliency "$SAL" --seeds "$SEEDS" --steps "$STEPS" \
    --candidates "$K" --outdir "$OUT" || exit 1
echo
echo "make demo: done. Open $OUT/index.html (frames: $OUT/seed0000/strip.png, plot: $OUT/seed0000/plot.png)"
