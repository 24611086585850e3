#!/bin/sh
# data/get-models.sh — `make models`: download the published model files into
# models/, check them, and convert them to salient blobs.
#
#   models/fastgaze.vxm   Twitter's saliency model (Apache-2.0), from
#                         twitter-research/image-crop-analysis, bin/fastgaze.vxm
#   models/ffhq.pkl       NVIDIA's StyleGAN2-ADA FFHQ 1024x1024 generator
#                         (PyTorch pickle, ~360 MB; NVIDIA Source Code License-NC)
#   models/*.blob         the same, converted by bin/weightconv
#
# Files already present are kept (only checked). Offline, it says exactly which
# file to put where.
set -u
cd "$(dirname "$0")/.." || exit 1
mkdir -p models

VXM_URL=https://github.com/twitter-research/image-crop-analysis/raw/main/bin/fastgaze.vxm
VXM_SHA=b76cefc218ec8969cc62b26ad0f41111800421287e7f2725d808da1d90afbdf7
FFHQ_URL=https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/ffhq.pkl

fetch() { # url dest
    if command -v curl >/dev/null 2>&1; then
        curl -fL --retry 2 --connect-timeout 20 -o "$2.part" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -T 20 -O "$2.part" "$1"
    else
        echo "make models: neither curl nor wget is installed" >&2
        return 1
    fi
    [ $? -eq 0 ] && mv "$2.part" "$2"
}

status=0
get() { # name url dest
    if [ ! -s "$3" ]; then
        echo "make models: downloading $1 from $2"
        if ! fetch "$2" "$3"; then
            rm -f "$3.part"
            echo "make models: could not download $1 (offline?)." >&2
            echo "  Download $2" >&2
            echo "  by other means and save it as $(pwd)/$3, then run 'make models' again." >&2
            status=1
            return 1
        fi
    fi
    return 0
}

if get "the saliency model" "$VXM_URL" models/fastgaze.vxm; then
    sum=$(sha256sum models/fastgaze.vxm | cut -d' ' -f1)
    if [ "$sum" != "$VXM_SHA" ]; then
        echo "make models: models/fastgaze.vxm has sha256 $sum, expected $VXM_SHA: delete it and retry" >&2
        status=1
    else
        echo "make models: models/fastgaze.vxm ok (sha256 checked)"
    fi
fi
if get "the StyleGAN2-ADA FFHQ generator" "$FFHQ_URL" models/ffhq.pkl; then
    if [ ! -s models/ffhq.blob ] || [ models/ffhq.pkl -nt models/ffhq.blob ]; then
        echo "make models: converting models/ffhq.pkl -> models/ffhq.blob"
        bin/weightconv models/ffhq.pkl models/ffhq.blob || status=1
    fi
    [ -s models/ffhq.blob ] && echo "make models: models/ffhq.blob ok"
fi
exit $status
