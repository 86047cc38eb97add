#!/usr/bin/env bash
# The GPU checks of issues 3 and 4, in one run on one GPU (about 9 minutes on an H100/H200):
#   din: one epoch over 3.6M rows at the baseline's shapes, fp32 and bf16 (target <= 15 s);
#   encode: random ViT-B/32 CLIP over 91,717 items with 480x640 covers (target >= 3,000 items/s end to
#   end): the default (PIL draft decode in workers, resize on the GPU), nvJPEG decoding, and the
#   all-in-workers PIL path.
# Output goes to $OUT (the device tool's folder) or ./gpu-checks. A quick run anywhere:
#   ROWS=20000 ITEMS=300 DEVICE=cpu bash benchmarks/gpu_checks.sh
# On the lent device machine (its python has torch but not open_clip; carry the wheels in .whl/):
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
#   python3 -m pip install -q --no-deps --no-build-isolation -e . && bash benchmarks/gpu_checks.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-checks}"
mkdir -p "$out"
rows="${ROWS:-3600000}" items="${ITEMS:-91717}" device="${DEVICE:-auto}"
{ nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null || echo "no nvidia-smi"; nproc; } | tee "$out/machine.txt"
run() {  # name, seconds, command...
    local name=$1 limit=$2; shift 2
    echo "== $name: $*"
    timeout "$limit" "$@" > "$out/$name.log" 2>&1
    echo "   exit $? ; $(grep -E '^JSON|epoch|items/s' "$out/$name.log" | tail -4 | tr '\n' ' ')"
}
run encode_auto 150 python benchmarks/gpu_encode.py --n "$items" --size 640 --device "$device"
run din_fp32 150 python benchmarks/gpu_din_epoch.py --rows "$rows" --device "$device"
run din_bf16 120 python benchmarks/gpu_din_epoch.py --rows "$rows" --device "$device" --amp
run encode_nvjpeg 150 python benchmarks/gpu_encode.py --n "$items" --size 640 --device "$device" --decode device
run encode_pil_workers 150 python benchmarks/gpu_encode.py --n "$items" --size 640 --device "$device" --resize workers
