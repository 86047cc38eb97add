"""Worker-side cost of each cover path, per core: what one DataLoader worker does per cover.

    python benchmarks/cover_decode.py --n 2000 --size 640

Writes N photo-like JPEG covers (benchmarks/gpu_encode.py's generator) and times, in this process
with one torch thread, the work a decode worker does for each setting of the encoders:
  resize: workers  PIL draft decode + resize + crop (the backbone's transform) to uint8
  resize: device   PIL draft decode to uint8 (the resize runs on the GPU)
  decode: device   reading the file (decode_jpeg runs on the GPU)
The covers/s of one core times the decode workers bounds what a GPU machine can encode.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="covers")
    ap.add_argument("--size", type=int, default=640, help="cover height in px (width = 0.75 x)")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)

    import torch

    from gpu_encode import _import_plugins, write_items

    _import_plugins()
    from mmbench_plugins.encoders import covers
    from mmbench_plugins.encoders.clip import clip_image_transform

    torch.set_num_threads(1)
    transform, crop = clip_image_transform(None)
    report = {}
    with tempfile.TemporaryDirectory(prefix="mmbench-cover-decode-") as tmp:
        items = write_items(Path(tmp), args.n, args.size)
        ids = np.arange(1, args.n + 1)
        paths = {
            "resize: workers": covers.CoverDataset(items, ids, covers.CoverPixels(transform).worker_transform, crop),
            "resize: device": covers.CoverDataset(items, ids, covers.hwc_uint8, crop),
            "decode: device": covers.CoverFileBytes(items, ids),
        }
        for name, dataset in paths.items():
            rates = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                for i in range(len(dataset)):
                    dataset[i]
                rates.append(len(dataset) / (time.perf_counter() - t0))
            report[name] = round(max(rates), 1)
            print(f"{name:<16} {max(rates):>10,.1f} covers/s per core (best of {args.repeats})")
    print("JSON " + json.dumps({"covers": args.n, "cover_px": [args.size, int(args.size * 0.75)], **report}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
