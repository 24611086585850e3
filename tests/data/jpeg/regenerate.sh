#!/bin/sh
# tests/data/jpeg/regenerate.sh — re-records the djpeg oracle that the JPEG
# tests use on machines without libjpeg-turbo-progs (see
# tests/engine/test_jpeg_util.h): the small cjpeg files made from our own
# synthetic images (m_*, d_*.jpg) and, in <test>.expected, djpeg's answer
# for every file, scale and IDCT path (FNV-1a of djpeg's pixels). Every
# answer comes from djpeg itself, none from our decoder.
# Needs cjpeg/djpeg (apt-get install libjpeg-turbo-progs) and `make tests`.
# Run from anywhere; commit the result. Debian 12's djpeg is 2.1.5.
set -eu
cd "$(dirname "$0")/../../.."
command -v cjpeg >/dev/null && command -v djpeg >/dev/null || {
    echo "regenerate.sh: needs cjpeg and djpeg (apt-get install libjpeg-turbo-progs)" >&2; exit 1; }
make -s tests >/dev/null
out=tests/data/jpeg
rm -f "$out"/*.jpg "$out"/*.expected
for t in jpeg jpeg_damage jpeg_enc; do
    SALIENT_JPEG_RECORD=$out build/tests/engine/test_$t | tail -n 1
done
echo "djpeg $(djpeg -version 2>&1 | head -n 1)"
echo "$(ls "$out"/*.jpg | wc -l) files, $(cat "$out"/*.expected | grep -vc '^#') answers, $(du -sk "$out" | cut -f1) KiB"
