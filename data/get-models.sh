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
# Files already present are kept (only checked). Offline:
#   MODELS_FROM=DIR       take fastgaze.vxm / ffhq.pkl from DIR (downloaded
#                         elsewhere) instead of the network; checked the same way
# A failed download leaves models/.download-failed-NAME (with the time); while
# it is there `make demo` (GET_MODELS_NO_RETRY=1) does not try again, and
# `make models` does (removing it on success).
# (GET_MODELS_VXM_URL / GET_MODELS_FFHQ_URL replace the addresses, for tests.)
set -u
FROM=${MODELS_FROM:-}
NO_RETRY=${GET_MODELS_NO_RETRY:-}
if [ -n "$FROM" ]; then
    if [ ! -d "$FROM" ]; then
        echo "make models: MODELS_FROM=$FROM is not a folder" >&2
        exit 1
    fi
    FROM=$(cd "$FROM" && pwd) || exit 1   # the paths below are relative to the checkout
fi
cd "$(dirname "$0")/.." || exit 1
mkdir -p models

VXM_URL=${GET_MODELS_VXM_URL:-https://github.com/twitter-research/image-crop-analysis/raw/main/bin/fastgaze.vxm}
VXM_SHA=b76cefc218ec8969cc62b26ad0f41111800421287e7f2725d808da1d90afbdf7
FFHQ_URL=${GET_MODELS_FFHQ_URL:-https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/ffhq.pkl}

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
    file=$(basename "$3")
    marker=models/.download-failed-$file
    [ -s "$3" ] && return 0
    if [ -n "$FROM" ]; then
        if [ ! -s "$FROM/$file" ]; then
            echo "make models: MODELS_FROM=$FROM has no $file (download it from $2)" >&2
            status=1
            return 1
        fi
        echo "make models: copying $FROM/$file -> $3"
        if ! cp "$FROM/$file" "$3.part" || ! mv "$3.part" "$3"; then
            rm -f "$3.part"
            echo "make models: could not copy $FROM/$file to $3" >&2
            status=1
            return 1
        fi
        rm -f "$marker"
        return 0
    fi
    if [ -n "$NO_RETRY" ] && [ -f "$marker" ]; then
        echo "make models: not downloading $1 again: it failed at $(cat "$marker")." >&2
        echo "  Run 'make models' to try again, or download $2 elsewhere and run" >&2
        echo "  'make models MODELS_FROM=DIR' (DIR holding $file), or save it as $(pwd)/$3." >&2
        status=1
        return 1
    fi
    echo "make models: downloading $1 from $2"
    if ! fetch "$2" "$3"; then
        rm -f "$3.part"
        date '+%Y-%m-%d %H:%M:%S' > "$marker"
        echo "make models: could not download $1 (offline?)." >&2
        echo "  Download $2 by other means and run 'make models MODELS_FROM=DIR'" >&2
        echo "  (DIR: the folder holding $file), or save it as $(pwd)/$3." >&2
        echo "  'make demo' will not try this download again; 'make models' will." >&2
        status=1
        return 1
    fi
    rm -f "$marker"
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
