"""Encoder throughput for the lead's GPU check: random-weight CLIP ViT-B/32 over N synthetic items.

    python benchmarks/gpu_encode.py --n 20000              # CUDA if present, else CPU
    python benchmarks/gpu_encode.py --n 200 --device cpu   # a quick check anywhere

Writes N cover JPEGs (--size px, photo-like gradients + noise, so decode costs what a real cover costs)
and titles in the synthetic generator's style into a temp folder, then runs the `mmbench bench encode`
passes (plugins/encoders/tower_encoder.py: TowerEncoder.timings): decode alone, image tower alone, tokeniser and text tower, and the
encoder end to end. transformers' CLIPConfig() defaults are ViT-B/32 (openai/clip-vit-base-patch32);
weights are random (same FLOPs), the tokenizer is CLIP's real BPE rebuilt offline from open_clip's
vocabulary file. Prints items/s per pass and a JSON line.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing


def _import_plugins():
    """mmbench_plugins is the installed name of plugins/; alias it when running from a bare checkout."""
    try:
        import mmbench_plugins  # noqa: F401
    except ImportError:
        import importlib

        sys.modules["mmbench_plugins"] = importlib.import_module("plugins")


def write_items(folder: Path, n: int, size: int, seed: int = 0):
    """An ItemTable of n items with covers (64 distinct JPEGs, repeated) and synthetic titles."""
    from PIL import Image

    from mmbench_plugins.datasets.synth.titles import N_TOPICS, make_titles
    from mmbench.data.types import ItemTable

    rng = np.random.default_rng(seed)
    h, w = size, int(size * 0.75)
    yy, xx = np.mgrid[0:h, 0:w]
    blobs = []
    for _ in range(64):
        base = rng.random(3) * 255
        grad = (np.sin(xx / rng.uniform(5, 40))[..., None] * rng.uniform(20, 80, 3)
                + np.cos(yy / rng.uniform(5, 40))[..., None] * rng.uniform(20, 80, 3))
        img = np.clip(base + grad + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=90)
        blobs.append(buf.getvalue())
    covers = folder / "item_images"
    covers.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        (covers / f"{i}.jpg").write_bytes(blobs[i % 64])
    titles = [""] + make_titles(rng.integers(0, N_TOPICS, n), rng)
    zeros = np.zeros(n + 1, np.int8)
    return ItemTable(n + 1, np.zeros((n + 1, 5), np.int32), zeros, zeros.copy(), titles, covers)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="items (covers + titles)")
    ap.add_argument("--size", type=int, default=480, help="cover height in px (width = 0.75 x)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--modality", default="fused", choices=["text", "image", "fused"])
    ap.add_argument("--batch-size", type=int, default=0, help="image batch (0 = per-device default)")
    ap.add_argument("--text-batch-size", type=int, default=0)
    ap.add_argument("--workers", type=int, default=-1, help="decode workers (-1 = auto)")
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    ap.add_argument("--decode", default="auto", choices=["auto", "pil", "device"],
                    help="pil: PIL in DataLoader workers; device: decode_jpeg (nvJPEG on CUDA) on the device")
    ap.add_argument("--resize", default="auto", choices=["auto", "workers", "device"],
                    help="with PIL decoding, where covers are resized (auto: on the device when it is CUDA)")
    ap.add_argument("--model", default="openai/clip-vit-base-patch32",
                    help="a hub name (random weights with CLIPConfig() defaults) or a local folder (its config)")
    args = ap.parse_args(argv)

    _import_plugins()
    from mmbench.bench.encode import bench_encode, format_report
    from mmbench.contract.params import build_params
    from mmbench.contract.components import RunContext
    from mmbench_plugins.encoders.clip import ClipEncoder

    with tempfile.TemporaryDirectory(prefix="mmbench-gpu-encode-") as tmp:
        t0 = time.perf_counter()
        items = write_items(Path(tmp), args.n, args.size)
        print(f"wrote {args.n} covers ({args.size}x{int(args.size * 0.75)}) + titles in {time.perf_counter() - t0:.1f}s",
              flush=True)
        params = build_params(ClipEncoder.Params, {
            "model": args.model, "random_weights": True, "modality": args.modality, "device": args.device,
            "batch_size": args.batch_size, "text_batch_size": args.text_batch_size, "num_workers": args.workers,
            "precision": args.precision, "decode": args.decode, "resize": args.resize}, "gpu_encode")
        ctx = RunContext(home=Path(tmp) / "home")
        report = bench_encode(ClipEncoder(params), items, ctx)
    report["cover_px"] = [args.size, int(args.size * 0.75)]
    print(format_report(report))
    print("JSON " + json.dumps(report, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
