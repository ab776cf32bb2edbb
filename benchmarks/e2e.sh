#!/bin/sh
# End to end, VGG16 Grad-CAM from a cold process: `gradlens explain --method gradcam --arch vgg16` beside
# e2e_gradcam_torch.py (build, load, forward, backward, write the PNG), wall time and peak memory from
# /usr/bin/time -v. Writes the seeded weights (/tmp/vgg16-bench.pth, 528 MB) and a 224×224 PNG once.
# usage: benchmarks/e2e.sh [threads (default 2)]   (build first: npx tsc -b packages/cli)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
threads=${1:-2}
w=/tmp/vgg16-bench.pth
img=/tmp/gradlens-bench-224.png
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ -f "$w" ] || env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 "$here/make_vgg16_weights.py" "$w"
[ -f "$img" ] || /usr/bin/python3 -c "
import numpy as np; from PIL import Image
y, x = np.mgrid[0:224, 0:224]
Image.fromarray(np.stack([(x * 255 // 223), (y * 255 // 223), ((x + y) * 255 // 446)], -1).astype(np.uint8)).save('$img')"
report() { # label, time -v output file
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$2")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$2")
  echo "$1: wall $wall, peak RSS $((rss / 1024)) MiB"
}
GRADLENS_THREADS=$threads /usr/bin/time -v -o "$out/g.txt" node "$here/../packages/cli/bin/gradlens.js" explain --method gradcam --arch vgg16 --weights "$w" --image "$img" --out "$out/g" > /dev/null
report "gradlens ($threads threads)" "$out/g.txt"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=$threads /usr/bin/time -v -o "$out/t.txt" /usr/bin/python3 "$here/e2e_gradcam_torch.py" "$w" "$img" "$out/t.png"
report "pytorch ($threads threads)" "$out/t.txt"
