"""``mmbench doctor``: versions, device, where mmbench keeps its files, and plugin health."""
from __future__ import annotations

import importlib.metadata as md
import platform
import sys

PACKAGES = ("mmbench", "torch", "transformers", "open_clip_torch", "numpy", "pyarrow", "pandas", "pluggy")


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def _size(path) -> int:
    """Bytes of the files under ``path``; links (the Task-1 data copies link to the source) count nothing."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) if path.exists() else 0


def device_line() -> str:
    import torch

    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return f"CUDA {torch.version.cuda}: {names}"
    return f"CPU only (no CUDA device visible; {torch.get_num_threads()} torch threads)"


def cmd_doctor(args) -> int:
    from ..data import mmbench_home
    from ..report.health import check_plugins
    from ..contract.registry import default_registry
    from ..output.console import make_console

    console = make_console()
    out = lambda text: console.print(text, soft_wrap=True)  # noqa: E731
    out(f"python         {sys.version.split()[0]} ({platform.platform()})")
    for dist in PACKAGES:
        out(f"{dist:<14} {_version(dist)}")
    out(f"device         {device_line()}")
    home = mmbench_home()
    out(f"MMBENCH_HOME   {home}" + ("" if home.exists() else " (does not exist yet)"))
    for sub in ("cache", "data", "runs", "leaderboards", "task1"):
        path = home / sub
        out(f"  {sub:<12} {path}  {_size(path) / 2**20:.1f} MiB")
    health = check_plugins(default_registry())
    broken = [h for h in health if not h.ok]
    out(f"plugins        {len(health) - len(broken)} of {len(health)} healthy")
    for h in health:
        out(f"  {h.line()}")
    return 1 if broken else 0


def add_parser(sub) -> None:
    p = sub.add_parser("doctor", help="print versions, device, file locations and plugin health")
    p.set_defaults(func=cmd_doctor)
