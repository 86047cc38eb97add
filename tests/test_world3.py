"""World 3 of the synthetic data: world 2's protocol, with shipped vectors that show niches and
co-click communities."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from mmbench.data import schema
from mmbench.data.marginals import compute
from mmbench.data.truth import TRUTH_DIR
from mmbench.errors import DataError
from mmbench_plugins.datasets.synth import world2 as w2, world3 as w3, worlds


@pytest.fixture(scope="module")
def roots(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("world3")
    out = {"w3": base / "w3", "w2": base / "w2", "hidden": base / "hidden", "shown": base / "shown"}
    w3.generate(out["w3"], "tiny", seed=0)
    # tiny's few hundred items make the default's small margins noisy: the test of what the vectors
    # show uses a strong visibility
    w3.generate(out["shown"], "tiny", seed=0, visibility=w3.Visibility(niche=2.0, community=2.0))
    w2.generate(out["w2"], "tiny", seed=0)
    w3.generate(out["hidden"], "tiny", seed=0, visibility=w3.Visibility(niche=0.0, community=0.0))
    return out


def _vectors(root: Path, column: str = "item_emb_d128") -> np.ndarray:
    spec = schema.ITEM_INFO if column == "item_emb_d128" else schema.ITEM_FEATURE
    table = pq.read_table(root / spec.path, columns=["item_id", column]).sort_by("item_id")
    vectors = np.stack(table.column(column).to_numpy(zero_copy_only=False))
    vectors = vectors[1:] if spec is schema.ITEM_INFO else vectors  # item_info's row 0 is padding
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _same_group_margin(root: Path, group_column: str, column: str = "item_emb_d128") -> float:
    """Mean cosine of same-group item pairs minus that of other pairs, among pairs of one topic for
    niches (a niche lies inside a topic) and of two topics for communities (drawn regardless of topic)."""
    truth = pq.read_table(root / TRUTH_DIR / "items.parquet").to_pandas()
    v = _vectors(root, column)
    cos = v @ v.T
    same_topic = truth.topic.values[:, None] == truth.topic.values[None, :]
    pairs = (same_topic if group_column == "interest" else ~same_topic) & ~np.eye(len(v), dtype=bool)
    same = truth[group_column].values[:, None] == truth[group_column].values[None, :]
    return float(cos[same & pairs].mean() - cos[~same & pairs].mean())


def test_world3_keeps_world2s_row_protocol(roots):
    m = compute(roots["w3"])
    sc = w3.SCALES["tiny"]
    for name, users in (("train", sc.n_train), ("valid", sc.n_valid), ("test", sc.n_test)):
        split = m["splits"][name]
        assert split["users"] == users and split["rows_per_user"] == {4: users}
        assert split["users_with_differing_histories"] == 0 and split["candidate_in_its_history"] == 0
    for name in ("train", "valid"):
        assert m["splits"][name]["positives_per_user"] == {1: m["splits"][name]["users"]}
    assert not any(m["users_shared_by_splits"].values())


def test_oracle_json_names_world_3_and_its_visibility(roots):
    facts = json.loads((roots["w3"] / schema.ORACLE_FILE).read_text())
    assert facts["world"] == 3 and facts["generator"] == "mmbench.data.synth_world3"
    assert facts["visibility"] == {"niche": w3.Visibility().niche, "community": w3.Visibility().community}
    assert facts["behaviour"] == json.loads((roots["w2"] / schema.ORACLE_FILE).read_text())["behaviour"]
    assert worlds.identity_of(roots["w3"]) == {"world": 3, "scale": "tiny", "seed": 0}
    assert worlds.dataset_id(3, "tiny", 0) == "microlens_1m_synth-w3-tiny-s0"


@pytest.mark.parametrize("group", ["interest", "community"])
@pytest.mark.parametrize("column", ["item_emb_d128", "txt_emb_BERT", "img_emb_CLIPRN50"])
def test_world3_vectors_show_niche_and_community_and_world2s_do_not(roots, group, column):
    shown = _same_group_margin(roots["shown"], group, column)
    assert shown > 0.1, (group, column, shown)
    for hidden in ("w2", "hidden"):  # world 2, and world 3 with both strengths at 0
        assert abs(_same_group_margin(roots[hidden], group, column)) < 0.03, (hidden, group, column)


def test_a_world_2_folder_is_refused_as_world_3(roots):
    with pytest.raises(DataError, match="holds synthetic world 2, not world 3: set dataset.world=2"):
        worlds.ensure_generated(roots["w2"], 3, "tiny", 0)


def _run_variant(*args: str) -> subprocess.CompletedProcess:
    script = Path(__file__).parents[1] / "benchmarks" / "world_variant.py"
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=120)


def test_world_variant_defaults_write_worlds_own_bytes_and_a_strength_changes_the_negatives(roots, tmp_path):
    same, lower = tmp_path / "same", tmp_path / "lower"
    assert _run_variant("--out", str(same), "--world", "3", "--scale", "tiny").returncode == 0
    for f in sorted(p for p in roots["w3"].rglob("*") if p.is_file()):
        assert (same / f.relative_to(roots["w3"])).read_bytes() == f.read_bytes(), f
    done = _run_variant("--out", str(lower), "--world", "3", "--scale", "tiny", "--strength", "negative_power=0")
    assert done.returncode == 0, done.stderr
    facts = json.loads((lower / "oracle.json").read_text())
    default = json.loads((roots["w3"] / "oracle.json").read_text())
    assert facts["behaviour"]["negative_power"] == 0.0
    # uniform negatives give the candidate's popularity a signal that plain popularity sampling lacks
    assert facts["references"]["popularity"] > default["references"]["popularity"] + 0.1


def test_world_variant_refuses_unknown_strengths_and_world2_visibility(tmp_path):
    bad = _run_variant("--out", str(tmp_path / "x"), "--strength", "negative_pwr=0")
    assert bad.returncode == 2 and "negative_pwr" in bad.stderr and "negative_power" in bad.stderr
    bad = _run_variant("--out", str(tmp_path / "x"), "--world", "2", "--visibility", "1")
    assert bad.returncode == 2 and "world-3" in bad.stderr
    assert not (tmp_path / "x").exists()
