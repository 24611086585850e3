#!/bin/sh
# test_tf.sh — TensorFlow pickles through the programs: `weightconv` converts
# tiny_tf.pkl to a blob whose tensor table (names, shapes, CRCs) equals
# tiny.pkl's; `--info` shows the TF network (state version, build function,
# static kwargs) and lists its variables, also for a file the converter refuses
# (then with the one-line reason on stderr, exit 1); `--use-G` takes G; a
# truncated TF pickle fails with one line naming the file and leaves no output;
# `salient generate --network tiny_tf.pkl` writes the same PNG as with tiny.pkl.
# Runs with $BIN = bin or build-asan/bin; prints "N passed, N failed".
. "$(dirname "$0")/../lib.sh"
TF=$SALIENT_SHARED/fixtures/stylegan2-tf
PT=$SALIENT_SHARED/fixtures/stylegan2
need_shared fixtures/stylegan2-tf && need_shared fixtures/stylegan2 || { finish tf_cli; exit $((fail > 0)); }
T=$SALIENT_TMP/test_tf_sh.$$
rm -rf "$T"; mkdir -p "$T"
WC=$BIN/weightconv
# the tensor table of --info: name, dtype, shape, crc
table() { grep ' crc ' "$1"; }

# convert: same tensor table as the PyTorch twin
"$WC" "$TF/tiny_tf.pkl" "$T/tf.blob" 2> "$T/e"; rc=$?
check '[ $rc -eq 0 ] && [ -s "$T/tf.blob" ] && [ ! -s "$T/e" ]' "convert tiny_tf.pkl: $(cat "$T/e")"
"$WC" "$PT/tiny/tiny.pkl" "$T/pt.blob" 2> "$T/e"
"$WC" --info "$T/tf.blob" > "$T/i_tf" 2> "$T/e"; rc=$?
"$WC" --info "$T/pt.blob" > "$T/i_pt"
table "$T/i_tf" > "$T/t_tf"; table "$T/i_pt" > "$T/t_pt"
check '[ $rc -eq 0 ] && [ $(wc -l < "$T/t_tf") -eq 87 ] && cmp -s "$T/t_tf" "$T/t_pt"' "tiny_tf blob table differs from tiny.pkl's"
check 'grep -q "network *\"Gs\"" "$T/i_tf" && grep -q "source *\"tf-pickle:tiny_tf.pkl\"" "$T/i_tf"' "tf blob metadata"

# --info on the TF pickle itself: network, kwargs and every variable
"$WC" --info "$TF/tiny_tf.pkl" > "$T/i" 2> "$T/e"; rc=$?
check '[ $rc -eq 0 ] && [ ! -s "$T/e" ]' "--info tiny_tf.pkl: $(cat "$T/e")"
check 'grep -q "TensorFlow network Gs: state version 5, built by .G_main." "$T/i"' "--info: network line"
check 'grep -q "static_kwargs {.num_channels.: 3, .resolution.: 32, .label_size.: 0, .fmap_base.: 512" "$T/i"' "--info: kwargs"
check 'grep -q "^TensorFlow variables of Gs (76):" "$T/i"' "--info: variable count"
check 'grep -Eq "^  synthesis/8x8/Conv0_up/weight +f32 +\[3,3,48,48\]$" "$T/i"' "--info: Conv0_up line"
check 'grep -Eq "^  synthesis/4x4/Conv/noise_strength +f32 +\[\]$" "$T/i" && grep -Eq "^  dlatent_avg +f32 +\[64\]$" "$T/i"' "--info: 0-d and own variables"
table "$T/i" > "$T/t_i"
check 'cmp -s "$T/t_i" "$T/t_pt"' "--info of the pickle: table differs"
"$WC" --info "$TF/tiny_tf.pkl" --use-G > "$T/iG" 2> "$T/e"
check 'grep -q "^TensorFlow variables of G (76):" "$T/iG" && grep -q "network *\"G\"" "$T/iG"' "--info --use-G"
"$WC" --info "$TF/tiny_sg2_tf.pkl" > "$T/i2" 2> "$T/e"; rc=$?
check '[ $rc -eq 0 ] && grep -q "state version 4" "$T/i2" && grep -q "^TensorFlow variables of Gs (77):" "$T/i2" &&
       grep -Eq "^  lod +f32 +\[\]$" "$T/i2" && grep -Eq "^  conv_clamp +0$" "$T/i2"' "--info tiny_sg2_tf.pkl"
"$WC" --info "$TF/small_tf.pkl" > "$T/i3" 2> "$T/e"; rc=$?
check '[ $rc -eq 0 ] && grep -Eq "^  z_dim +512$" "$T/i3" && grep -Eq "^  num_ws +10$" "$T/i3" &&
       grep -Eq "^  channel_base +2048$" "$T/i3" && grep -q "^TensorFlow variables of Gs (92):" "$T/i3"' "--info small_tf.pkl"

# a refused variant (Gs's state version patched 5 -> 3): one line on stderr,
# exit 1, but --info still lists what the file holds
at=$(LC_ALL=C grep -obUaP 'K\x05h.X\x02\x00\x00\x00Gs' "$TF/tiny_tf.pkl" | head -n 1 | cut -d: -f1)
if [ -n "$at" ]; then
    cp "$TF/tiny_tf.pkl" "$T/v1.pkl"; chmod u+w "$T/v1.pkl"
    printf '\003' | dd of="$T/v1.pkl" bs=1 seek=$((at + 1)) conv=notrunc 2> /dev/null
    "$WC" "$T/v1.pkl" "$T/v1.blob" 2> "$T/e"; rc=$?
    check '[ $rc -eq 1 ] && [ $(wc -l < "$T/e") -eq 1 ] && grep -q "^v1.pkl: network state version 3 (StyleGAN v1) is not supported" "$T/e" &&
           [ ! -e "$T/v1.blob" ]' "v1 convert: $(cat "$T/e")"
    "$WC" --info "$T/v1.pkl" > "$T/iv" 2> "$T/e"; rc=$?
    check '[ $rc -eq 1 ] && grep -q "StyleGAN v1" "$T/e" && grep -q "state version 3" "$T/iv" &&
           grep -q "^TensorFlow variables of Gs (76):" "$T/iv"' "--info on a refused file"
else
    bad "Gs version not found in tiny_tf.pkl"
fi

# truncated: one line naming the file, no output file
head -c 1500000 "$TF/tiny_tf.pkl" > "$T/cut_tf.pkl"
"$WC" "$T/cut_tf.pkl" "$T/cut.blob" 2> "$T/e"; rc=$?
check '[ $rc -eq 1 ] && [ $(wc -l < "$T/e") -eq 1 ] && grep -q "^cut_tf.pkl: " "$T/e" && [ ! -e "$T/cut.blob" ]' "truncated: $(cat "$T/e")"

# salient generate takes the TF pickle directly: the same PNG as from tiny.pkl
"$BIN/salient" generate --network "$TF/tiny_tf.pkl" --seeds 0 --trunc 0.7 --outdir "$T/g_tf" 2> "$T/e"; rc=$?
"$BIN/salient" generate --network "$PT/tiny/tiny.pkl" --seeds 0 --trunc 0.7 --outdir "$T/g_pt" 2> /dev/null
check '[ $rc -eq 0 ] && [ -s "$T/g_tf/seed0000.png" ] && cmp -s "$T/g_tf/seed0000.png" "$T/g_pt/seed0000.png"' "generate from tiny_tf.pkl: $(cat "$T/e")"

rm -rf "$T"
finish tf_cli
[ "$fail" -eq 0 ]
