#!/bin/sh
# test_get_models.sh — data/get-models.sh (`make models`) without the network:
# MODELS_FROM=DIR copies the files from a folder and checks them the same way
# (sha256 of fastgaze.vxm, ffhq.pkl converted to a blob that loads); a bad
# file is refused; a failed download is remembered so `make demo`
# (GET_MODELS_NO_RETRY=1) does not try it again, `make models` does.
# The script runs from a copy of data/ beside a link to $BIN, so the
# checkout's models/ is never touched; download addresses point to files
# that do not exist (file://), so nothing goes to the network.
# Runs with $BIN = bin or build-asan/bin; prints "N passed, N failed".
. "$(dirname "$0")/../lib.sh"
FX=$SALIENT_SHARED/fixtures/stylegan2
VXM=$SALIENT_SHARED/data/fastgaze.vxm
T=$SALIENT_TMP/test_get_models.$$
rm -rf "$T"; mkdir -p "$T/tree/data" "$T/from"
abs() { (cd "$(dirname "$1")" && printf '%s/%s' "$(pwd)" "$(basename "$1")"); }
cp data/get-models.sh "$T/tree/data/"
ln -s "$(abs "$BIN")" "$T/tree/bin"
NOWHERE="file://$(abs "$T")/nowhere"
getm() { GET_MODELS_VXM_URL=$NOWHERE/fastgaze.vxm GET_MODELS_FFHQ_URL=$NOWHERE/ffhq.pkl sh "$T/tree/data/get-models.sh" "$@"; }

# the real fastgaze.vxm (its sha256 is checked) and a fixture pickle; the
# checks of refused files and failed downloads need neither
HAVE_MODELS=0
need_shared data/fastgaze.vxm && need_shared fixtures/stylegan2 && HAVE_MODELS=1

# --- MODELS_FROM: copied, checked, converted ---------------------------------
if [ $HAVE_MODELS -eq 1 ]; then
    cp "$VXM" "$T/from/fastgaze.vxm"
    cp "$FX/tiny/tiny.pkl" "$T/from/ffhq.pkl"
    MODELS_FROM="$T/from" getm >"$T/from.out" 2>&1
    check '[ $? -eq 0 ]' "MODELS_FROM run failed: $(cat "$T/from.out")"
    check "cmp -s '$VXM' '$T/tree/models/fastgaze.vxm' && cmp -s '$FX/tiny/tiny.pkl' '$T/tree/models/ffhq.pkl'" "files not copied"
    check "grep -q 'sha256 checked' '$T/from.out'" "fastgaze.vxm not checked: $(cat "$T/from.out")"
    "$BIN/weightconv" --info "$T/tree/models/ffhq.blob" >"$T/info.txt" 2>&1
    check '[ $? -eq 0 ] && grep -qi "32" "$T/info.txt"' "ffhq.blob does not load: $(cat "$T/info.txt")"
    check "[ -z \"\$(ls '$T/tree/models' | grep part)\" ]" "a .part file was left"
fi

# --- a wrong file from MODELS_FROM is refused by its checksum ----------------
rm -rf "$T/tree/models"
printf 'not a model' > "$T/from/fastgaze.vxm"
MODELS_FROM="$T/from" getm >"$T/bad.out" 2>&1
check '[ $? -ne 0 ] && grep -q "has sha256" "$T/bad.out"' "a wrong fastgaze.vxm was accepted: $(cat "$T/bad.out")"
rm -rf "$T/tree/models" "$T/from"/*
MODELS_FROM="$T/from" getm >"$T/none.out" 2>&1
check '[ $? -ne 0 ] && grep -q "has no fastgaze.vxm" "$T/none.out" && ! grep -q "^make models: downloading" "$T/none.out"' \
      "MODELS_FROM without the files: $(cat "$T/none.out")"
MODELS_FROM="$T/missing-dir" getm >"$T/nodir.out" 2>&1
check '[ $? -ne 0 ] && grep -q "is not a folder" "$T/nodir.out"' "MODELS_FROM=missing: $(cat "$T/nodir.out")"

# --- a failed download is remembered; demo does not retry, models does -------
if command -v curl >/dev/null 2>&1; then
    rm -rf "$T/tree/models"
    getm >"$T/dl1.out" 2>&1
    check '[ $? -ne 0 ] && grep -q "could not download" "$T/dl1.out"' "failed download: $(cat "$T/dl1.out")"
    check "[ -s '$T/tree/models/.download-failed-fastgaze.vxm' ] && [ -s '$T/tree/models/.download-failed-ffhq.pkl' ]" "no failure marker"
    check "grep -q 'MODELS_FROM' '$T/dl1.out'" "the failure does not mention MODELS_FROM"
    GET_MODELS_NO_RETRY=1 getm >"$T/dl2.out" 2>&1
    check '[ $? -ne 0 ] && ! grep -q "^make models: downloading" "$T/dl2.out" && grep -q "not downloading .* again" "$T/dl2.out" && grep -q "make models" "$T/dl2.out"' \
          "demo retried a failed download or did not say how to retry: $(cat "$T/dl2.out")"
    getm >"$T/dl3.out" 2>&1
    check 'grep -q "downloading the saliency model" "$T/dl3.out"' "make models did not retry: $(cat "$T/dl3.out")"
    if [ $HAVE_MODELS -eq 1 ]; then
        cp "$VXM" "$T/from/fastgaze.vxm"; cp "$FX/tiny/tiny.pkl" "$T/from/ffhq.pkl"
        MODELS_FROM="$T/from" getm >/dev/null 2>&1
        check "[ ! -e '$T/tree/models/.download-failed-fastgaze.vxm' ] && [ ! -e '$T/tree/models/.download-failed-ffhq.pkl' ]" "success kept the failure markers"
    fi
else
    skip "the download checks need curl (apt-get install curl)"
fi

rm -rf "$T"
finish test_get_models
