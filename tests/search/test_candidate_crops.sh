#!/bin/sh
# test_candidate_crops.sh — bin/candidate_crops as a program: arguments,
# stdout, stderr and exit codes against the real tool's recordings
# (../shared/fixtures/saliency: special_cases.tsv, runs.tsv, out/).
# The numbers themselves are checked for every fixture in-process by
# tests/nets/test_saliency_fixtures.c; here the program's behaviour is.
# Saliency values may differ from the tool's in the last digit: "x y s" lines
# compare x and y exactly and s within 2e-5; every other line exactly.
# Under the sanitizers (SALIENT_ASAN=1, convolutions ~60x slower) only the
# error cases and images with a tiny network input are run.
. "$(dirname "$0")/../lib.sh"
ROOT=$(pwd)
CC="$ROOT/$BIN/candidate_crops"
FIX="$SALIENT_SHARED/fixtures/saliency"
MODEL="$SALIENT_SHARED/data/fastgaze.vxm"
TMP="$ROOT/$SALIENT_TMP/test_candidate_crops${SALIENT_ASAN:+_asan}"
mkdir -p "$TMP"
check() { expect "$@"; }   # description, then a command that must succeed
need_shared fixtures/saliency && need_shared data/fastgaze.vxm || { finish candidate_crops; exit $((fail > 0)); }

# same_output OURS THEIRS: equal line counts, "x y s" lines within 2e-5, others identical
same_output() {
    [ "$(wc -l < "$1")" -eq "$(wc -l < "$2")" ] || return 1
    paste -d '|' "$1" "$2" | awk -F'|' '{
        na = split($1, a, " "); nb = split($2, b, " ")
        if (nb == 3) {
            if (na != 3 || a[1] != b[1] || a[2] != b[2]) exit 1
            d = a[3] - b[3]; if (d < 0) d = -d
            if (d > 2e-5) exit 1
        } else if ($1 != $2) exit 1
    }'
}

# run_cc NAME ARGS...: runs in the fixture folder, stdout/stderr/exit to $TMP/NAME.*
run_cc() {
    n=$1; shift
    (cd "$FIX" && "$CC" "$@" > "$TMP/$n.out" 2> "$TMP/$n.err"); echo $? > "$TMP/$n.rc"
}
rc_of() { cat "$TMP/$1.rc"; }

# ---- usage, --help --------------------------------------------------------
run_cc no_args
check "no args: exit 3" [ "$(rc_of no_args)" -eq 3 ]
printf 'error: usage -- %s <model_path> <image_path> [show_all_points] [aspect_ratio] [aspect_ratio] ...\nFor show_all_points use show_all_points otherwise skip' "$CC" > "$TMP/usage.want"
check "usage text" cmp -s "$TMP/no_args.err" "$TMP/usage.want"
check "no args: empty stdout" [ ! -s "$TMP/no_args.out" ]
run_cc model_only "$MODEL"
check "model only: exit 3" [ "$(rc_of model_only)" -eq 3 ]
run_cc help --help
check "--help: exit 0" [ "$(rc_of help)" -eq 0 ]
check "--help text" grep -q "show_all_points" "$TMP/help.out"

# ---- image errors (the image is read before the model) ----------------------
run_cc missing_image "$MODEL" images/does_not_exist.jpeg show_all_points 1.0
check "missing image: exit 5" [ "$(rc_of missing_image)" -eq 5 ]
check "missing image: message" grep -qx "error: unable to open input file for 'images/does_not_exist.jpeg'" "$TMP/missing_image.err"
check "missing image: empty stdout" [ ! -s "$TMP/missing_image.out" ]
run_cc directory "$MODEL" images show_all_points
check "directory: exit 4" [ "$(rc_of directory)" -eq 4 ]
check "directory: message" grep -q "^error: unknown or corrupt image format for 'images'" "$TMP/directory.err"
# every bad/ image in runs.tsv: the recorded exit code (and empty stdout on failure)
awk -F'\t' '$1 ~ /^images\/bad\// && $2 == "bare" { print $1 "\t" $3 }' "$FIX/runs.tsv" | while IFS="$(printf '\t')" read -r img code; do
    case "$img" in *truncated_baseline*|*truncated_progressive*|*corrupt_body*)
        [ -n "${SALIENT_ASAN:-}" ] && continue ;;   # decodable: a full network run
    esac
    n=bad_$(basename "$img")
    run_cc "$n" "$MODEL" "$img"
    if [ "$(rc_of "$n")" -ne "$code" ]; then echo "FAIL: $img: exit $(rc_of "$n"), the tool $code" >&2; echo x; fi
    if [ "$code" -ne 0 ] && [ -s "$TMP/$n.out" ]; then echo "FAIL: $img: stdout not empty" >&2; echo x; fi
    if [ "$code" -ne 0 ] && [ "$(wc -l < "$TMP/$n.err")" -ne 1 ]; then echo "FAIL: $img: not one stderr line" >&2; echo x; fi
    if [ "$code" -eq 0 ]; then same_output "$TMP/$n.out" "$FIX/out/${img#images/}.bare.txt" || { echo "FAIL: $img output" >&2; echo x; }; fi
done > "$TMP/bad.failures"
check "bad images (see messages above)" [ ! -s "$TMP/bad.failures" ]

# ---- model errors: unlike the original (exit 0), a non-zero exit -------------
head -c 1000 "$MODEL" > "$TMP/truncated.vxm"
echo "not a model" > "$TMP/text.vxm"
for m in /nonexistent/fastgaze.vxm "$TMP/truncated.vxm" "$TMP/text.vxm" "$FIX/images/dummy.jpeg"; do
    run_cc model_err "$m" images/synthetic/wide_2000x100.png show_all_points 1.0
    check "bad model $m: exit 2" [ "$(rc_of model_err)" -eq 2 ]
    check "bad model $m: empty stdout" [ ! -s "$TMP/model_err.out" ]
    check "bad model $m: one stderr line naming it" [ "$(wc -l < "$TMP/model_err.err")" -eq 1 ]
done

# ---- a too-thin image is found on its header (this one has no pixel data at
# all: decoding it would fail), yet a bad model still wins (exit 2), as in the
# original, which checks the size only after loading the model
printf '\211\120\116\107\015\012\032\012\000\000\000\015\111\110\104\122\000\000\000\001\000\000\003\350\010\000\000\000\000\072\335\313\202\000\000\000\000\111\105\116\104\256\102\140\202' > "$TMP/thin_1x1000.png"
run_cc thin "$MODEL" "$TMP/thin_1x1000.png"
check "1x1000 header only: exit 10" [ "$(rc_of thin)" -eq 10 ]
check "1x1000 header only: message" grep -q "^error: bad image dimensions: .*thin_1x1000.png: 1x1000 image: a side becomes 0 px" "$TMP/thin.err"
run_cc thin_bad_model "$TMP/text.vxm" "$TMP/thin_1x1000.png"
check "1x1000 with a bad model: exit 2" [ "$(rc_of thin_bad_model)" -eq 2 ]

# ---- outputs in the 4 modes ------------------------------------------------------
modes() { # image: runs the 4 recorded modes and compares with out/
    img=$1; rel=${img#images/}
    for mode in sap_ratios ratios sap bare; do
        case $mode in
            sap_ratios) set -- show_all_points 0.56 1.0 1.14 2.0 ;;
            ratios) set -- 0.56 1.0 1.14 2.0 ;;
            sap) set -- show_all_points ;;
            bare) set -- ;;
        esac
        n=mode_$mode
        run_cc "$n" "$MODEL" "$img" "$@"
        check "$img [$mode]: exit 0" [ "$(rc_of "$n")" -eq 0 ]
        check "$img [$mode]: output" same_output "$TMP/$n.out" "$FIX/out/$rel.$mode.txt"
        check "$img [$mode]: nothing on stderr" [ ! -s "$TMP/$n.err" ]
        case $mode in ratios|bare)   # integer lines only: byte-identical
            want=$(awk -F'\t' -v i="$img" -v m="$mode" '$1 == i && $2 == m { print $5 }' "$FIX/runs.tsv")
            check "$img [$mode]: md5" [ "$(md5sum < "$TMP/$n.out" | cut -d' ' -f1)" = "$want" ] ;;
        esac
    done
}
modes images/synthetic/wide_2000x100.png
modes images/grid/gray_1000x10.png
if [ -z "${SALIENT_ASAN:-}" ]; then
    modes images/dummy.jpeg
    modes images/synthetic/twofaces_400x200_exif6.jpg
    modes images/synthetic/rgba_circle_200x200.png
    modes images/faces/transition7.png
    # the blob converted by weightconv works the same as the .vxm
    "$ROOT/$BIN/weightconv" "$MODEL" "$TMP/fastgaze.blob" > /dev/null
    check "weightconv .vxm -> blob" [ -s "$TMP/fastgaze.blob" ]
    (cd "$FIX" && "$CC" "$TMP/fastgaze.blob" images/dummy.jpeg show_all_points > "$TMP/blob.out")
    check "blob model: same output" same_output "$TMP/blob.out" "$FIX/out/dummy.jpeg.sap.txt"

    # ---- the argument cases of special_cases.tsv with the real model ----------
    tail -n +2 "$FIX/special_cases.tsv" | while IFS="$(printf '\t')" read -r name args code lines rest; do
        case "$args" in fastgaze.vxm*) ;; *) continue ;; esac   # model / usage cases are above
        [ "$code" -eq 0 ] || continue
        # shellcheck disable=SC2086
        run_cc "sp_$name" "$MODEL" ${args#fastgaze.vxm }
        [ "$(rc_of "sp_$name")" -eq 0 ] || { echo "FAIL: $name: exit $(rc_of "sp_$name")" >&2; echo x; }
        same_output "$TMP/sp_$name.out" "$FIX/out/special/$name.txt" || { echo "FAIL: $name: output" >&2; echo x; }
    done > "$TMP/special.failures"
    check "special cases (see messages above)" [ ! -s "$TMP/special.failures" ]
fi

# ---- IMAGE "-": read from stdin ------------------------------------------------------
(cd "$FIX" && "$CC" "$MODEL" - < images/synthetic/wide_2000x100.png > "$TMP/stdin.out"); rc=$?
check "stdin: exit 0" [ $rc -eq 0 ]
check "stdin: output" same_output "$TMP/stdin.out" "$FIX/out/synthetic/wide_2000x100.png.bare.txt"

# ---- the debug line only on request -----------------------------------------------
(cd "$FIX" && SALIENT_CC_DEBUG=1 "$CC" "$MODEL" images/grid/gray_1000x10.png > /dev/null 2> "$TMP/debug.err")
check "SALIENT_CC_DEBUG=1: debug line" grep -qx 'showAllPoints=false, argv\[3\]=(null)' "$TMP/debug.err"
(cd "$FIX" && SALIENT_CC_DEBUG=1 "$CC" "$MODEL" images/grid/gray_1000x10.png show_all_points > /dev/null 2> "$TMP/debug2.err")
check "SALIENT_CC_DEBUG=1 sap: debug line" grep -qx 'showAllPoints=true, argv\[3\]=show_all_points' "$TMP/debug2.err"

finish candidate_crops
[ "$fail" -eq 0 ]
