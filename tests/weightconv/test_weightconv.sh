#!/bin/sh
# test_weightconv.sh — bin/weightconv end to end: convert, --info on blobs
# and pickles, --random, --use-G, and clear one-line errors for bad input
# and bad flags (no output file left behind on failure).
# Run with $BIN = bin or build-asan/bin (tests/run.sh sets it).
. "$(dirname "$0")/../lib.sh"
F=$SALIENT_SHARED/fixtures/stylegan2
TMP=$SALIENT_TMP/weightconv_sh.$$
mkdir -p "$TMP"
WC=$BIN/weightconv

$WC --help > "$TMP/help" 2>&1; rc=$?
check '[ $rc -eq 0 ] && grep -q "usage: weightconv IN OUT.blob" "$TMP/help" && grep -q ffhq1024 "$TMP/help"' "--help"
$WC --bogus > "$TMP/o" 2> "$TMP/e"; rc=$?
check '[ $rc -eq 2 ] && [ $(wc -l < "$TMP/e") -eq 1 ] && grep -q "unknown option" "$TMP/e"' "bad flag"
$WC --seed 1x --random tiny "$TMP/r.blob" 2> "$TMP/e"; rc=$?
check '[ $rc -eq 2 ] && grep -q "seed" "$TMP/e"' "bad seed"
$WC --random nosuch "$TMP/r.blob" 2> "$TMP/e"; rc=$?
check '[ $rc -eq 2 ] && grep -q "unknown config" "$TMP/e" && [ ! -e "$TMP/r.blob" ]' "unknown config"

# the rest reads the fixture pickles
if need_shared fixtures/stylegan2; then
# --info on a pickle: the config of small.pkl (manifest.json)
$WC --info "$F/small/small.pkl" > "$TMP/info" 2> "$TMP/e"; rc=$?
check '[ $rc -eq 0 ]' "--info small.pkl: $(cat "$TMP/e")"
for kv in "z_dim 512" "w_dim 512" "c_dim 0" "num_ws 10" "img_resolution 64" "img_channels 3" "mapping_layers 8" \
          "mapping_lr_multiplier 0.01" "conv_clamp 256" 'architecture "skip"' "channel_base 2048" "channel_max 128" \
          "num_fp16_res 3" 'network "G_ema"'; do
    k=${kv%% *}; v=${kv#* }
    check "awk -v k=$k '\$1==k{print \$2}' '$TMP/info' | grep -qx '$v'" "--info small.pkl: $k should be $v"
done
check 'grep -q "^tensors (106, " "$TMP/info" && grep -q "synthesis.b64.torgb.weight *f32 *(3, 32, 1, 1)" "$TMP/info"' "small tensor table"

# convert, then --info of the blob lists the same tensors as --info of the pickle
$WC "$F/tiny/tiny.pkl" "$TMP/tiny.blob" 2> "$TMP/e"; rc=$?
check '[ $rc -eq 0 ] && [ -s "$TMP/tiny.blob" ] && [ ! -s "$TMP/e" ]' "convert tiny.pkl: $(cat "$TMP/e")"
$WC --info "$TMP/tiny.blob" | tail -n +2 > "$TMP/i1"
$WC --info "$F/tiny/tiny_p3.pkl" | tail -n +2 | sed 's/tiny_p3.pkl/tiny.pkl/' > "$TMP/i2"
check 'cmp -s "$TMP/i1" "$TMP/i2" && grep -q "^tensors (87, " "$TMP/i1"' "blob and protocol-3 pickle --info differ"
$WC --use-G "$F/tiny/tiny.pkl" "$TMP/g.blob" && $WC --info "$TMP/g.blob" > "$TMP/ig"
check 'grep -q "network *\"G\"" "$TMP/ig" && ! cmp -s "$TMP/g.blob" "$TMP/tiny.blob"' "--use-G"

# bad inputs: one line naming the file, exit 1, no output file
printf 'cposix\nsystem\n(S"ls"\ntR.' > "$TMP/evil.pkl"
$WC "$TMP/evil.pkl" "$TMP/evil.blob" 2> "$TMP/e"; rc=$?
check '[ $rc -eq 1 ] && [ $(wc -l < "$TMP/e") -eq 1 ] && grep -q "evil.pkl: forbidden global .posix.system." "$TMP/e" && [ ! -e "$TMP/evil.blob" ]' "forbidden global: $(cat "$TMP/e")"
head -c 100000 "$F/tiny/tiny.pkl" > "$TMP/cut.pkl"
$WC "$TMP/cut.pkl" "$TMP/cut.blob" 2> "$TMP/e"; rc=$?
check '[ $rc -eq 1 ] && [ $(wc -l < "$TMP/e") -eq 1 ] && grep -q "^cut.pkl: " "$TMP/e" && [ ! -e "$TMP/cut.blob" ]' "truncated: $(cat "$TMP/e")"
$WC "$TMP/nonexistent.pkl" "$TMP/x.blob" 2> "$TMP/e"; rc=$?
check '[ $rc -eq 1 ] && grep -q "nonexistent.pkl: cannot open" "$TMP/e"' "missing file"
$WC --info "$F/manifest.json" 2> "$TMP/e"; rc=$?
check '[ $rc -eq 1 ] && grep -q "manifest.json: unknown file format: neither a network" "$TMP/e"' "not a network"

# --random: reproducible per seed, exact tensor table of the fixture config
$WC --random tiny "$TMP/r1.blob" --seed 3 && $WC --random tiny "$TMP/r2.blob" --seed 3 && $WC --random tiny "$TMP/r3.blob"
check 'cmp -s "$TMP/r1.blob" "$TMP/r2.blob" && ! cmp -s "$TMP/r1.blob" "$TMP/r3.blob"' "--random seeds"
$WC --info "$TMP/r1.blob" | grep ' crc ' | sed 's/ *crc .*//' > "$TMP/t1"
grep ' crc ' "$TMP/i1" | sed 's/ *crc .*//' > "$TMP/t2"
check 'cmp -s "$TMP/t1" "$TMP/t2" && [ $(wc -l < "$TMP/t1") -eq 87 ]' "random tiny tensor table differs from tiny.pkl's"
fi

rm -rf "$TMP"
finish weightconv_cli
[ "$fail" -eq 0 ]
