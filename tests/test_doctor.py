import importlib.metadata

import torch

from mmbench import cli
from mmbench.contract.registry import reset_default_registry


def test_doctor_reports_versions_device_home_and_plugins(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("MMBENCH_HOME", str(tmp_path))
    (tmp_path / "cache" / "k").mkdir(parents=True)
    (tmp_path / "cache" / "k" / "vectors.npy").write_bytes(b"x" * 3 * 2**20)
    reset_default_registry()
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    for name in ("python", "torch", "transformers", "open_clip_torch", "numpy", "pyarrow"):
        assert any(line.startswith(name) for line in out.splitlines()), name
    assert f"torch          {importlib.metadata.version('torch')}" in out
    assert ("CUDA" if torch.cuda.is_available() else "CPU only") in out
    assert f"MMBENCH_HOME   {tmp_path}" in out and "3.0 MiB" in out
    assert "plugin 'attention_dnn' (mmbench" in out and "healthy" in out
