#!/bin/sh
# test_cmd_saliency.sh — `salient saliency`: options, the max saliency and
# point against the real tool's recordings (max of the "x y s" lines and the
# first line of its show_all_points output), --json, --heatmap, errors.
# Images with a small network input only, so the sanitizer run stays quick.
. "$(dirname "$0")/../lib.sh"
ROOT=$(pwd)
SAL="$ROOT/$BIN/salient"
FIX="$SALIENT_SHARED/fixtures/saliency"
MODEL="$SALIENT_SHARED/data/fastgaze.vxm"
TMP="$ROOT/$SALIENT_TMP/test_cmd_saliency${SALIENT_ASAN:+_asan}"
rm -rf "$TMP"; mkdir -p "$TMP"
check() { expect "$@"; }
need_shared fixtures/saliency && need_shared data/fastgaze.vxm || { finish cmd_saliency; exit $((fail > 0)); }

A=images/synthetic/wide_2000x100.png
B=images/grid/gray_1000x10.png
C=images/synthetic/tall_100x2000.png

# the tool's max and point for an image, from its recorded sap output
tool_max() { tail -n +7 "$FIX/out/${1#images/}.sap.txt" | awk 'NR == 1 || $3 > m { m = $3 } END { print m }'; }
tool_point() { head -n 1 "$FIX/out/${1#images/}.sap.txt"; }
near() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 2e-5) }'; }

"$SAL" saliency --help > "$TMP/help.out"; rc=$?
check "--help: exit 0" [ $rc -eq 0 ]
check "--help mentions --heatmap" grep -q -- "--heatmap" "$TMP/help.out"
"$SAL" saliency "$FIX/$A" > /dev/null 2> "$TMP/e1"; rc=$?
check "no --model: exit 2" [ $rc -eq 2 ]
"$SAL" saliency --model "$MODEL" --bogus "$FIX/$A" > /dev/null 2> "$TMP/e2"; rc=$?
check "unknown option: exit 2" [ $rc -eq 2 ]
check "unknown option: message" grep -q "unknown option '--bogus'" "$TMP/e2"
"$SAL" saliency --model "$MODEL" --threads x "$FIX/$A" > /dev/null 2> "$TMP/e3"; rc=$?
check "bad --threads: exit 2" [ $rc -eq 2 ]

# default output: IMAGE max x y per image
(cd "$FIX" && "$SAL" saliency --model "$MODEL" --threads 1 "$A" "$B" "$C") > "$TMP/plain.out"; rc=$?
check "plain: exit 0" [ $rc -eq 0 ]
check "plain: 3 lines" [ "$(wc -l < "$TMP/plain.out")" -eq 3 ]
for img in $A $B $C; do
    line=$(awk -F'\t' -v i="$img" '$1 == i' "$TMP/plain.out")
    max=$(printf '%s\n' "$line" | cut -f2)
    pt=$(printf '%s\n' "$line" | cut -f3,4 | tr '\t' ' ')
    check "$img: max $max vs the tool's $(tool_max "$img")" near "$max" "$(tool_max "$img")"
    check "$img: point $pt vs the tool's $(tool_point "$img")" [ "$pt" = "$(tool_point "$img")" ]
done

# --json: one object per image, every map value
(cd "$FIX" && "$SAL" saliency --model "$MODEL" --json "$A") > "$TMP/a.json"; rc=$?
check "json: exit 0" [ $rc -eq 0 ]
check "json: one line" [ "$(wc -l < "$TMP/a.json")" -eq 1 ]
check "json: point" grep -q "\"point\": \[$(tool_point "$A" | sed 's/ /, /')\]" "$TMP/a.json"
check "json: sizes" grep -q '"width": 2000, "height": 100, "input_width": 320, "input_height": 16, "map_width": 20, "map_height": 1' "$TMP/a.json"
jmax=$(sed 's/.*"max": \([^,]*\),.*/\1/' "$TMP/a.json")
check "json: max $jmax" near "$jmax" "$(tool_max "$A")"
nvals=$(sed 's/.*"values": \[\(.*\)\]}/\1/' "$TMP/a.json" | tr ',' '\n' | wc -l)
check "json: 20 values ($nvals)" [ "$nvals" -eq 20 ]
# the values are the tool's, in row-major order
sed 's/.*"values": \[\(.*\)\]}/\1/' "$TMP/a.json" | tr ',' '\n' | tr -d ' ' > "$TMP/a.values"
tail -n +7 "$FIX/out/${A#images/}.sap.txt" | cut -d' ' -f3 > "$TMP/a.tool"
check "json: values match the tool's" sh -c "paste '$TMP/a.values' '$TMP/a.tool' | awk '{ d = \$1 - \$2; if (d < 0) d = -d; if (d > 2e-5) exit 1 }'"

# --heatmap: one file, or a folder for several images
(cd "$FIX" && "$SAL" saliency --model "$MODEL" --heatmap "$TMP/one.png" "$A") > /dev/null; rc=$?
check "heatmap: exit 0" [ $rc -eq 0 ]
check "heatmap: a PNG file" sh -c "head -c 8 '$TMP/one.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"
(cd "$FIX" && "$SAL" saliency --model "$MODEL" --heatmap "$TMP/maps" "$A" "$C") > /dev/null; rc=$?
check "heatmaps: exit 0" [ $rc -eq 0 ]
check "heatmaps: two files" [ -s "$TMP/maps/wide_2000x100.png.heatmap.png" ] && [ -s "$TMP/maps/tall_100x2000.png.heatmap.png" ]

# a bad image among good ones: reported, the others still scored, exit 1
(cd "$FIX" && "$SAL" saliency --model "$MODEL" "$A" images/bad/random.png "$B") > "$TMP/mixed.out" 2> "$TMP/mixed.err"; rc=$?
check "bad image: exit 1" [ $rc -eq 1 ]
check "bad image: the 2 good ones scored" [ "$(wc -l < "$TMP/mixed.out")" -eq 2 ]
check "bad image: one stderr line naming it" sh -c "[ \$(wc -l < '$TMP/mixed.err') -eq 1 ] && grep -q random.png '$TMP/mixed.err'"
"$SAL" saliency --model /nonexistent.vxm "$FIX/$A" > /dev/null 2> "$TMP/m.err"; rc=$?
check "bad model: exit 1" [ $rc -eq 1 ]

# the decoding limit (header check) and SALIENT_MAX_IMAGE_MB: wide_2000x100.png
# needs ~1.4 MiB to decode (100 rows of scanlines + 2000x100 pixels)
(cd "$FIX" && SALIENT_MAX_IMAGE_MB=1 "$SAL" saliency --model "$MODEL" "$A") > "$TMP/lim.out" 2> "$TMP/lim.err"; rc=$?
check "1 MiB limit: exit 1, nothing scored" sh -c "[ $rc -eq 1 ] && [ ! -s '$TMP/lim.out' ]"
check "1 MiB limit: message" grep -q "wide_2000x100.png: image too large to decode (2000x100.*limit 1 MiB; SALIENT_MAX_IMAGE_MB raises it)" "$TMP/lim.err"
(cd "$FIX" && SALIENT_MAX_IMAGE_MB=2 "$SAL" saliency --model "$MODEL" "$A") > "$TMP/lim2.out"; rc=$?
check "2 MiB limit: scored" sh -c "[ $rc -eq 0 ] && [ \$(wc -l < '$TMP/lim2.out') -eq 1 ]"
SALIENT_MAX_IMAGE_MB=lots "$SAL" saliency --model "$MODEL" "$FIX/$A" > /dev/null 2> "$TMP/lim3.err"; rc=$?
check "bad SALIENT_MAX_IMAGE_MB: exit 2" [ $rc -eq 2 ]
check "bad SALIENT_MAX_IMAGE_MB: message" grep -q "SALIENT_MAX_IMAGE_MB: expected an integer in 1..1048576, got 'lots'" "$TMP/lim3.err"
# a text file as the model: say what a saliency model is
printf 'not a model\n' > "$TMP/notes.txt"
"$SAL" saliency --model "$TMP/notes.txt" "$FIX/$A" > /dev/null 2> "$TMP/txt.err"; rc=$?
check "text file as model: exit 1" [ $rc -eq 1 ]
check "text file as model: message" grep -q "notes.txt: not a saliency model (unknown file format): expected Twitter's fastgaze model, fastgaze.vxm" "$TMP/txt.err"

finish cmd_saliency
[ "$fail" -eq 0 ]
