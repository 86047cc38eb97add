"""Every published entry points to a config that resolves against the installed plugins."""
from pathlib import Path

import pytest
import yaml

from mmbench.run import config, pipeline
from mmbench.contract.registry import default_registry

ROOT = Path(__file__).resolve().parents[1]
ROWS = yaml.safe_load((ROOT / "mmbench" / "leaderboard" / "published.yaml").read_text())["results"]


@pytest.mark.parametrize("row", ROWS, ids=[r["system"] for r in ROWS])
def test_each_published_row_has_a_config_that_resolves(row):
    path = ROOT / row["config"]
    resolved = pipeline.resolve(config.load(path), default_registry())
    assert resolved.dataset.name == "microlens_1m"  # a setting for the real data


def test_every_published_config_belongs_to_a_row():
    files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "configs" / "published").glob("*.yaml")}
    assert files == {r["config"] for r in ROWS}


def test_the_winners_configs_hold_their_distinctive_settings():
    def model(name):
        return pipeline.resolve(config.load(ROOT / "configs" / "published" / name), default_registry()).model

    m = model("momo_transformer_dcn.yaml")
    assert m.name == "transformer_dcn" and m.params.mask == "published"
    m = model("qin_disco_ahu.yaml")
    assert m.name == "qin" and (m.params.qnn_layers, m.params.num_row) == (4, 4)
    p = model("gavin113.yaml").params
    assert (p.cross_attention_layers, p.cross_attention_norm, p.use_user_id, p.use_item_levels) == (2, "rms", True, True)
    p = model("task2_award_zhou123.yaml").params
    assert p.target_attention_heads > 0 and p.senet_reduction > 0
