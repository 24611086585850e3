#!/bin/sh
# test_generate.sh — `salient generate` end to end on the tiny fixture pickle:
# the float images (--save-float .npy) match NVIDIA's references for seeds,
# --trunc, --noise-mode, --batch, --z and --w; the PNGs are 32x32 RGB 8-bit;
# pickle and converted blob give the same files; bad command lines and bad
# inputs fail with a clear message and the right exit code.
# (The PNG pixels themselves are compared with the uint8 references by
# tests/search/test_generate.c, which runs the same command in-process.)
# Runs with $BIN = bin or build-asan/bin; prints "N passed, N failed".
. "$(dirname "$0")/../lib.sh"
FX=$SALIENT_SHARED/fixtures/stylegan2
need_shared fixtures/stylegan2 || { finish test_generate.sh; exit $((fail > 0)); }
REF=$FX/tiny/ref
PKL=$FX/tiny/tiny.pkl
T=$SALIENT_TMP/test_generate.$$
rm -rf "$T"; mkdir -p "$T"
gen() { "$BIN/salient" generate "$@"; }

# floats of a .npy file (version 1 header), one per line
npy_floats() {
    hl=$(od -An -tu2 -j8 -N2 "$1" | tr -d ' ')
    od -An -v -tf4 -j$((10 + hl)) "$1" | tr -s ' ' '\n' | sed '/^$/d'
}
# floats of a raw reference file, from element $2 on, $3 of them
raw_floats() {
    od -An -v -tf4 -j$(($2 * 4)) -N$(($3 * 4)) "$1" | tr -s ' ' '\n' | sed '/^$/d'
}
# max |a - b| / max(1, max |b|) over two float lists (files)
relerr() {
    paste "$1" "$2" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d;
        r = $2 < 0 ? -$2 : $2; if (r > l) l = r; n++ }
        END { if (n == 0 || n != '"$3"') { print 99; exit } if (l < 1) l = 1; print m / l }'
}
# check that OUT.npy equals element range [start, start+n) of REF within 1e-5
check_npy() { # npy, ref file, start element, label
    npy_floats "$1" > "$T/a.txt"
    raw_floats "$2" "$3" 3072 > "$T/b.txt"
    e=$(relerr "$T/a.txt" "$T/b.txt" 3072)
    check "awk -v e='$e' 'BEGIN { exit !(e <= 1e-5) }'" "$4: relative error $e"
    echo "$4: $e" >> "$T/errors.txt"
}
# writes a .npy v1 header for dtype $2 ('<f4'/'<f8') and shape $3 ('(4, 64)'), then raw data $4
make_npy() { # out, descr, shape, raw file
    dict="{'descr': '$2', 'fortran_order': False, 'shape': $3, }"
    len=$(( ${#dict} + 1 ))
    pad=$(( (64 - (10 + len) % 64) % 64 ))
    hl=$(( len + pad ))
    {
        printf '\223NUMPY\001\000'
        printf "\\$(printf %03o $((hl % 256)))\\$(printf %03o $((hl / 256)))"
        printf '%s' "$dict"
        printf "%${pad}s\n" ""
        cat "$4"
    } > "$1"
}
# 8 PNG header bytes + IHDR: width, height, bit depth, color type
png_ihdr() { od -An -tu1 -j16 -N10 "$1" | tr -s ' ' | sed 's/^ //'; }

# --- seeds, psi 1 and 0.7, noise const and none --------------------------
gen --network "$PKL" --seeds 0-3 --outdir "$T/s" --save-float 2>"$T/s.err"
check '[ $? -eq 0 ]' "generate --seeds 0-3 failed: $(cat "$T/s.err")"
check "grep -q 'generate: 4/4 images' '$T/s.err'" "no progress line on stderr"
check "grep -q 'note: converting .*tiny.pkl in memory' '$T/s.err'" "no hint that the pickle is converted in memory"
for s in 0 1 2 3; do
    f=$T/s/seed000$s
    check "[ -s '$f.png' ] && [ -s '$f.npy' ]" "missing seed000$s.png/.npy"
    check_npy "$f.npy" "$REF/seed${s}_psi1.0_const_img.bin" 0 "seed $s psi 1 const"
done
check "[ \"\$(png_ihdr '$T/s/seed0000.png')\" = '0 0 0 32 0 0 0 32 8 2' ]" \
      "seed0000.png is not 32x32 8-bit RGB: $(png_ihdr "$T/s/seed0000.png")"
check "[ \"\$(od -An -tx1 -N8 '$T/s/seed0000.png' | tr -d ' ')\" = '89504e470d0a1a0a' ]" "no PNG signature"

gen --network "$PKL" --seeds 1,3 --trunc 0.7 --noise-mode none --outdir "$T/t" --save-float 2>/dev/null
check '[ $? -eq 0 ]' "generate --trunc 0.7 --noise-mode none failed"
check_npy "$T/t/seed0001.npy" "$REF/seed1_psi0.7_none_img.bin" 0 "seed 1 psi 0.7 none"
check_npy "$T/t/seed0003.npy" "$REF/seed3_psi0.7_none_img.bin" 0 "seed 3 psi 0.7 none"
check "[ ! -e '$T/t/seed0000.png' ] && [ ! -e '$T/t/seed0002.png' ]" "wrote images for seeds not asked for"

# --trunc-cutoff: 0 rows truncated = psi 1; all 8 rows = plain psi 0.7
gen --network "$PKL" --seeds 1 --trunc 0.7 --trunc-cutoff 0 --outdir "$T/k0" --save-float 2>/dev/null
check '[ $? -eq 0 ]' "generate --trunc-cutoff 0 failed"
check_npy "$T/k0/seed0001.npy" "$REF/seed1_psi1.0_const_img.bin" 0 "seed 1 psi 0.7 cutoff 0"
gen --network "$PKL" --seeds 1 --trunc 0.7 --trunc-cutoff 8 --outdir "$T/k8" --save-float 2>/dev/null
check '[ $? -eq 0 ]' "generate --trunc-cutoff 8 failed"
check_npy "$T/k8/seed0001.npy" "$REF/seed1_psi0.7_const_img.bin" 0 "seed 1 psi 0.7 cutoff 8"

# one image: no progress line
gen --network "$PKL" --seeds 2 --trunc 0.7 --outdir "$T/one" --save-float 2>"$T/one.err"
check '[ $? -eq 0 ] && ! grep -q "generate: 1/1" "$T/one.err"' "single image: progress line on stderr"
check_npy "$T/one/seed0002.npy" "$REF/seed2_psi0.7_const_img.bin" 0 "seed 2 psi 0.7 const"

# --- batches of 3 (4 seeds: a batch of 3 and one of 1) ---------------------
gen --network "$PKL" --seeds 0-3 --batch 3 --threads 1 --outdir "$T/b" --save-float 2>/dev/null
check '[ $? -eq 0 ]' "generate --batch 3 failed"
for s in 0 1 2 3; do
    check_npy "$T/b/seed000$s.npy" "$REF/seed${s}_psi1.0_const_img.bin" 0 "batch 3, seed $s"
done

# --- pickle and blob give the same files ----------------------------------
if [ -x "$BIN/weightconv" ] && "$BIN/weightconv" "$PKL" "$T/tiny.blob" >/dev/null 2>&1; then
    gen --network "$T/tiny.blob" --seeds 0-3 --outdir "$T/blob" --save-float 2>/dev/null
    check '[ $? -eq 0 ]' "generate from the blob failed"
    check "diff -r '$T/s' '$T/blob' >/dev/null" "pickle and blob outputs differ"
else
    bad "weightconv could not convert $PKL"
fi

# --- --z: batch_z_f64.bin (4 seeds' z, float64) as a .npy ------------------
make_npy "$T/z.npy" '<f8' '(4, 64)' "$REF/batch_z_f64.bin"
gen --network "$PKL" --z "$T/z.npy" --trunc 0.7 --batch 4 --outdir "$T/z" --save-float 2>"$T/z.err"
check '[ $? -eq 0 ]' "generate --z failed: $(cat "$T/z.err")"
for i in 0 1 2 3; do
    check_npy "$T/z/z000$i.npy" "$REF/batch_psi0.7_const_img.bin" $((i * 3072)) "--z row $i psi 0.7"
done

# --- --w: [N, num_ws, w_dim] and [N, w_dim] -------------------------------
make_npy "$T/w3.npy" '<f4' '(4, 8, 64)' "$REF/batch_psi1.0_w.bin"
gen --network "$PKL" --w "$T/w3.npy" --noise-mode none --batch 2 --outdir "$T/w3" --save-float 2>/dev/null
check '[ $? -eq 0 ]' "generate --w [N, num_ws, w_dim] failed"
for i in 0 1 2 3; do
    check_npy "$T/w3/w000$i.npy" "$REF/batch_psi1.0_none_img.bin" $((i * 3072)) "--w (4, 8, 64) row $i"
done
head -c 256 "$REF/seed1_psi0.7_w.bin" > "$T/w1.raw"   # the first of its 8 identical rows
make_npy "$T/w1.npy" '<f4' '(1, 64)' "$T/w1.raw"
gen --network "$PKL" --w "$T/w1.npy" --outdir "$T/w1" --save-float 2>/dev/null
check '[ $? -eq 0 ]' "generate --w [N, w_dim] failed"
check_npy "$T/w1/w0000.npy" "$REF/seed1_psi0.7_const_img.bin" 0 "--w (1, 64)"

# --- noise random: reproducible, and not the const image -------------------
gen --network "$PKL" --seeds 5 --noise-mode random --outdir "$T/r1" --save-float 2>/dev/null
gen --network "$PKL" --seeds 4-5 --noise-mode random --batch 2 --outdir "$T/r2" --save-float 2>/dev/null
npy_floats "$T/r1/seed0005.npy" > "$T/r1.txt"; npy_floats "$T/r2/seed0005.npy" > "$T/r2.txt"
e=$(relerr "$T/r1.txt" "$T/r2.txt" 3072)
check "awk -v e='$e' 'BEGIN { exit !(e <= 1e-5) }'" "noise random: seed 5 alone and in a batch differ ($e)"
gen --network "$PKL" --seeds 5 --outdir "$T/c5" --save-float 2>/dev/null
npy_floats "$T/c5/seed0005.npy" > "$T/c5.txt"
e=$(relerr "$T/r1.txt" "$T/c5.txt" 3072)
check "awk -v e='$e' 'BEGIN { exit !(e > 1e-3) }'" "noise random looks like noise const"

# --- help and errors -------------------------------------------------------
gen --help > "$T/help.txt"; rc=$?
check "[ $rc -eq 0 ] && grep -q -- '--noise-mode' '$T/help.txt' && grep -q -- '--save-float' '$T/help.txt'" "--help"

expect_fail() { # exit code, message fragment, args...
    code=$1; msg=$2; shift 2
    gen "$@" > "$T/out.txt" 2> "$T/err.txt"; rc=$?
    check "[ $rc -eq $code ]" "'$*': exit $rc, expected $code"
    check "grep -q -- '$msg' '$T/err.txt'" "'$*': stderr lacks '$msg': $(cat "$T/err.txt")"
    check "[ \$(grep -c -v '^note: ' '$T/err.txt') -eq 1 ]" "'$*': expected one error line on stderr"
}
expect_fail 2 "--network NET is required" --seeds 0
expect_fail 2 "exactly one of" --network "$PKL"
expect_fail 2 "exactly one of" --network "$PKL" --seeds 0 --z "$T/z.npy"
expect_fail 2 "unknown option" --network "$PKL" --sedes 0
expect_fail 2 "--seeds" --network "$PKL" --seeds 3-1
expect_fail 2 "--trunc" --network "$PKL" --seeds 0 --trunc abc
expect_fail 2 "--batch" --network "$PKL" --seeds 0 --batch 0
expect_fail 2 "--noise-mode" --network "$PKL" --seeds 0 --noise-mode loud
expect_fail 2 "--outdir: missing value" --network "$PKL" --seeds 0 --outdir
expect_fail 2 "--w latents are used as given" --network "$PKL" --w "$T/w1.npy" --trunc 0.5
expect_fail 1 "$T/nonexistent.pkl" --network "$T/nonexistent.pkl" --seeds 0 --outdir "$T/x"
expect_fail 1 "seed0_z.bin" --network "$REF/seed0_z.bin" --seeds 0 --outdir "$T/x"
expect_fail 1 "expected shape" --network "$PKL" --z "$T/w3.npy" --outdir "$T/x"
make_npy "$T/bad.npy" '<f4' '(2, 32)' "$REF/seed0_z.bin"
expect_fail 1 "expected shape" --network "$PKL" --w "$T/bad.npy" --outdir "$T/x"
expect_fail 1 "expected shape" --network "$PKL" --z "$T/bad.npy" --outdir "$T/x"
: > "$T/afile"
expect_fail 1 "afile" --network "$PKL" --seeds 0 --outdir "$T/afile/sub"
check "[ ! -e '$T/x' ]" "a failed run left its output folder (it is made only after loading)"

echo "max relative errors:" >&2
sort -t: -k2 -g "$T/errors.txt" | tail -n 3 >&2
[ "$fail" -eq 0 ] && rm -rf "$T"
finish test_generate.sh
[ "$fail" -eq 0 ]
