"""Write a world-2 or world-3 data root with some behaviour strengths or the vectors' visibility changed:
the probes in docs/synthetic.md, rerunnable. The defaults reproduce ``mmbench data synth`` byte for byte.

    python benchmarks/world_variant.py --out DIR --world 3 --scale small --strength negative_power=0.5
    python benchmarks/world_variant.py --out DIR --world 3 --scale small --visibility 4

Then train on it with ``--set dataset.data_root=DIR --set dataset.world=3`` (and the same scale).
Prints the oracle's valid AUC and the single-signal references from ``oracle.json``.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from mmbench_plugins.datasets.synth import world2, world3
from mmbench_plugins.datasets.synth.behaviour import Strengths, with_strengths


def parse_strength(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    fields = {f.name: f.type for f in dataclasses.fields(Strengths)}
    if not sep or name not in fields:
        raise argparse.ArgumentTypeError(f"'{text}': give NAME=VALUE with NAME one of {', '.join(fields)}")
    try:
        return name, (int(value) if fields[name] in ("int", int) else float(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}': {value!r} is not a number") from None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--world", type=int, choices=(2, 3), default=3)
    ap.add_argument("--scale", choices=tuple(world2.SCALES), default="small")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--strength", type=parse_strength, action="append", default=[],
                    help="NAME=VALUE of behaviour.Strengths (repeatable), e.g. negative_power=0.5")
    ap.add_argument("--visibility", type=float, default=None,
                    help="world 3: the niche and community visibility (default: world3.Visibility's)")
    args = ap.parse_args(argv)
    if args.visibility is not None and args.world != 3:
        ap.error("--visibility is a world-3 setting")
    strengths = with_strengths(**dict(args.strength))
    start = time.perf_counter()
    if args.world == 3:
        vis = world3.Visibility() if args.visibility is None else world3.Visibility(args.visibility, args.visibility)
        facts = world3.generate(args.out, args.scale, args.seed, overwrite=True, strengths=strengths, visibility=vis)
    else:
        facts = world2.generate(args.out, args.scale, args.seed, overwrite=True, strengths=strengths)
    refs = ", ".join(f"{k} {v:.4f}" for k, v in facts["references"].items())
    print(f"world {args.world} {args.scale} in {time.perf_counter() - start:.1f} s: "
          f"oracle valid AUC {facts['valid_auc']:.4f}; references: {refs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
