#!/usr/bin/env bash
# Runs the bad inputs of docs/hardening.md through the real CLI and prints one markdown table row each:
#   | # | area | bad input | exit code | what mmbench printed on stderr |
# Usage: docs/hardening_cases.sh [MMBENCH]   (default: mmbench on PATH). Needs ~5 min on 2 cores.
set -u
MMB=${1:-mmbench}
REPO=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d)
export MMBENCH_HOME=$W/home
SITE=$W/site; mkdir -p "$SITE"
mkdist() {  # mkdist DIST EP_NAME MODULE SOURCE : a fake installed distribution with an mmbench entry point
  printf '%s\n' "$4" > "$SITE/$3.py"
  local info="$SITE/${1//-/_}-0.1.dist-info"; mkdir -p "$info"
  printf 'Metadata-Version: 2.1\nName: %s\nVersion: 0.1\n' "$1" > "$info/METADATA"
  printf '[mmbench]\n%s = %s\n' "$2" "$3" > "$info/entry_points.txt"
}
# the example plugin, "installed" by its metadata; its code comes from the source folder
mkdir -p "$SITE/mmbench_example_plugin-0.1.0.dist-info"
printf 'Metadata-Version: 2.1\nName: mmbench-example-plugin\nVersion: 0.1.0\n' > "$SITE/mmbench_example_plugin-0.1.0.dist-info/METADATA"
printf '[mmbench]\nexample = mmbench_example\n' > "$SITE/mmbench_example_plugin-0.1.0.dist-info/entry_points.txt"
export PYTHONPATH=$SITE:$REPO/plugins/mmbench-example-plugin
"$MMB" data synth --out "$W/tiny" --scale tiny >/dev/null
LB=$W/lb
cfg() {  # cfg FILE [yaml lines replacing sections...]
  local f=$1; shift
  { echo "dataset: {name: microlens_1m_synth, scale: tiny, data_root: $W/tiny}"
    echo "encoder: {name: hashed_bow, dim: 64}"; echo "reducer: {name: pca, dim: 8}"
    echo "model: {name: mean_pool_lr}"; echo "train: {epochs: 1, device: cpu}"; } > "$f"
  for line in "$@"; do python3 - "$f" "$line" <<'PY'
import sys, yaml
path, line = sys.argv[1], sys.argv[2]
raw = yaml.safe_load(open(path)); raw.update(yaml.safe_load(line)); open(path, "w").write(yaml.safe_dump(raw))
PY
  done
}
N=0
row() {  # row AREA DESCRIPTION -- COMMAND...
  local area=$1 what=$2; shift 3
  N=$((N+1))
  "$@" >"$W/out" 2>"$W/err"; local rc=$?
  local lines; lines=$(grep -c . "$W/err")
  local msg; msg=$(grep . "$W/err" | sed 's/|/\\|/g' | awk 'NR>1{printf " ⏎ "} {printf "%s", $0}')
  [ -z "$msg" ] && msg="(nothing) — stdout: $(grep -E 'BROKEN|healthy|row appended' "$W/out" | sed 's/|/\\|/g' | awk 'NR>1{printf " ⏎ "} {printf "%s", $0}')"
  local rows; rows=$(cat "$LB"/*.csv 2>/dev/null | tail -n +2 | wc -l)
  echo "| $N | $area | $what | $rc | $msg | $lines | $rows |"
}
echo "| # | area | bad input | exit | stderr | stderr lines | leaderboard rows after |"
echo "|---|---|---|---|---|---|---|"
row config "config file does not exist" -- "$MMB" run "$W/nope.yaml" --leaderboard-dir "$LB"
printf 'dataset: [unclosed\n' > "$W/bad.yaml"
row config "invalid YAML" -- "$MMB" run "$W/bad.yaml" --leaderboard-dir "$LB"
cfg "$W/c.yaml" "trian: {epochs: 1}"
row config "misspelt section \`trian:\`" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
cfg "$W/c.yaml" "model: {name: mean_pool_lrr}"
row config "misspelt model name" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
cfg "$W/c.yaml" "model: {name: mean_pool_lr, dims: 8}"
row config "unknown model parameter" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
cfg "$W/c.yaml" "encoder: {name: hashed_bow, dim: big}"
row config "parameter of the wrong type" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
cfg "$W/c.yaml"
row config "\`--set train.epochs=0\`" -- "$MMB" run "$W/c.yaml" --set train.epochs=0 --leaderboard-dir "$LB"
row config "\`--set train.epochs\` (no value)" -- "$MMB" run "$W/c.yaml" --set train.epochs --leaderboard-dir "$LB"
row config "\`--set trainer.lr=1\` (no such section)" -- "$MMB" run "$W/c.yaml" --set trainer.lr=1 --leaderboard-dir "$LB"
row config "\`--set train.device=cuda\` on a CPU machine" -- "$MMB" run "$W/c.yaml" --set train.device=cuda --leaderboard-dir "$LB"
cfg "$W/c.yaml" "dataset: {name: microlens_1m}"
row data "real dataset without \`data_root\`" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
cfg "$W/c.yaml" "dataset: {name: microlens_1m, data_root: $W/nowhere}"
row data "\`data_root\` that does not exist" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
cp -r "$W/tiny" "$W/d1"; rm "$W/d1/MicroLens_1M_x1/valid.parquet"
cfg "$W/c.yaml" "dataset: {name: microlens_1m_synth, scale: tiny, data_root: $W/d1}"
row data "valid.parquet missing" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
cp -r "$W/tiny" "$W/d2"; echo "garbage" > "$W/d2/MicroLens_1M_x1/valid.parquet"
cfg "$W/c.yaml" "dataset: {name: microlens_1m_synth, scale: tiny, data_root: $W/d2}"
row data "valid.parquet is not parquet" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
cp -r "$W/tiny" "$W/d3"; python3 - "$W/d3/MicroLens_1M_x1/valid.parquet" <<'PY'
import sys, pyarrow as pa, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1]); lab = t.column("label").to_numpy().copy(); lab[3] = 2
pq.write_table(t.set_column(t.schema.get_field_index("label"), "label", pa.array(lab)), sys.argv[1])
PY
cfg "$W/c.yaml" "dataset: {name: microlens_1m_synth, scale: tiny, data_root: $W/d3}"
row data "a label of 2 in valid.parquet" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
cp -r "$W/tiny" "$W/d4"; python3 - "$W/d4/MicroLens_1M_x1/train.parquet" <<'PY'
import sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1]); pq.write_table(t.drop_columns(["item_seq"]), sys.argv[1])
PY
cfg "$W/c.yaml" "dataset: {name: microlens_1m_synth, scale: tiny, data_root: $W/d4}"
row data "train.parquet without \`item_seq\`" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
mkdist broken-plugin broken errplug_broken 'raise RuntimeError("this plugin is broken on purpose")'
cfg "$W/c.yaml"
row plugins "a plugin raising on import: \`mmbench plugins\`" -- "$MMB" plugins
row plugins "the same, \`mmbench run\` of other plugins (works)" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
row plugins "the same, \`mmbench plugins --check\`" -- "$MMB" plugins --check
rm -r "$SITE"/broken_plugin-0.1.dist-info
mkdist future-plugin future errplug_future 'MMBENCH_API_VERSION = 99'
row plugins "plugin declaring API version 99: \`plugins --check\`" -- "$MMB" plugins --check
rm -r "$SITE"/future_plugin-0.1.dist-info
mkdist sig-plugin sig errplug_sig 'import mmbench
@mmbench.hookimpl
def register_encoders(reg): pass'
row plugins "hook with a wrong argument name (\`reg\`)" -- "$MMB" plugins
rm -r "$SITE"/sig_plugin-0.1.dist-info
mkdist twin-plugin twin errplug_twin 'import mmbench, mmbench_example
@mmbench.hookimpl
def register_encoders(register): register("hashed_bow", mmbench_example.HashedBowEncoder)'
row plugins "two plugins registering \`hashed_bow\`" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
rm -r "$SITE"/twin_plugin-0.1.dist-info
mkdist bad-encoder bad errplug_bad 'import mmbench
from mmbench.contract.components import Encoder
class Bad(Encoder):
    def encode(self, items, ctx): return {}["title"]
@mmbench.hookimpl
def register_encoders(register): register("bad_encoder", Bad)'
cfg "$W/c.yaml" "encoder: {name: bad_encoder}"
row plugins "encoder raising KeyError in encode()" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
mkdist nan-plugin nan errplug_nan 'import torch, mmbench
from mmbench.contract.components import Model
class NanModel(Model):
    def __init__(self, spec, params):
        super().__init__(); self.w = torch.nn.Parameter(torch.zeros(()))
    def forward(self, batch): return self.w * batch["item_id"].float() + float("nan")
@mmbench.hookimpl
def register_models(register): register("nan_model", NanModel)'
cfg "$W/c.yaml" "model: {name: nan_model}"
row runs "model producing NaN logits" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
cfg "$W/c.yaml" "train: {epochs: 500, patience: 500, device: cpu}"
N=$((N+1))
# a background job of a script inherits "ignore SIGINT"; restore the default before exec'ing mmbench
PYTHONUNBUFFERED=1 python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
  "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB" >"$W/out" 2>"$W/err" & PID=$!
until grep -q "^epoch 1:" "$W/out" 2>/dev/null || ! kill -0 $PID 2>/dev/null; do sleep 0.5; done; kill -INT $PID; wait $PID; rc=$?
echo "| $N | runs | Ctrl-C (SIGINT) during training, epoch 2 | $rc | $(grep . "$W/err" | awk 'NR>1{printf " ⏎ "} {printf "%s", $0}') | $(grep -c . "$W/err") | $(tail -n +2 "$LB"/*.csv | wc -l) |"
row predict "\`predict\` of an unknown hash" -- "$MMB" predict abc123 --out "$W/sub"
cfg "$W/c.yaml" "train: {epochs: 1, seed: 5, device: cpu}"
row predict "\`predict\` of a config never run" -- "$MMB" predict "$W/c.yaml" --out "$W/sub"
"$MMB" run "$W/c.yaml" --leaderboard-dir "$LB" >/dev/null 2>&1
H=$(ls "$MMBENCH_HOME/runs" | head -1)
echo "not a checkpoint" > "$MMBENCH_HOME/runs/$H/model.pt"
row predict "\`predict\` with a damaged model.pt" -- "$MMB" predict "$H" --out "$W/sub"
for f in "$MMBENCH_HOME"/cache/*/vectors.npy; do printf 'xx' | dd of="$f" bs=1 seek=200 conv=notrunc 2>/dev/null; done
row cache "every cache entry damaged (bytes overwritten), then \`run\`" -- "$MMB" run "$W/c.yaml" --set train.seed=6 --leaderboard-dir "$LB"

# ---- issue 10: validation at the edges, the top-level handler, data root trust, --set switching ----
echo "|---|---|---|---|---|---|---|"
pyedit() {  # pyedit FILE PYTHON_EXPR_OF_t : rewrite a parquet file through an expression of its table t
  python3 - "$1" "$2" <<'PY'
import sys, numpy as np, pyarrow as pa, pyarrow.parquet as pq
path, expr = sys.argv[1], sys.argv[2]
t = pq.read_table(path)
def setcol(t, name, arr): return t.set_column(t.schema.get_field_index(name), name, arr)
pq.write_table(eval(expr), path)
PY
}
cfg "$W/c.yaml"
mkdir -p "$W/dir.yaml"
row files "config path is a folder" -- "$MMB" run "$W/dir.yaml" --leaderboard-dir "$LB"
printf 'model: {name: d\xefn}\n' > "$W/latin1.yaml"
row files "config file in Latin-1, not UTF-8" -- "$MMB" run "$W/latin1.yaml" --leaderboard-dir "$LB"
echo x > "$W/afile"
row files "\`--leaderboard-dir\` below a file" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$W/afile/lb"
row files "\`--leaderboard-dir\` on a read-only file system (/sys)" -- "$MMB" run "$W/c.yaml" --leaderboard-dir /sys/mmbench-lb
row files "\`MMBENCH_HOME\` is a file" -- env MMBENCH_HOME="$W/afile" "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
row files "\`predict --out\` onto an existing file" -- "$MMB" predict "$W/c.yaml" --out "$W/afile"
row files "\`export-embeddings --out\` below a file" -- "$MMB" export-embeddings "$W/c.yaml" --out "$W/afile/item_info.parquet"
row train "\`--set train.lr=-1\`" -- "$MMB" run "$W/c.yaml" --set train.lr=-1 --leaderboard-dir "$LB"
row train "\`--set train.eval_batch_size=0\`" -- "$MMB" run "$W/c.yaml" --set train.eval_batch_size=0 --leaderboard-dir "$LB"
row train "\`--set train.device=tpu\`" -- "$MMB" run "$W/c.yaml" --set train.device=tpu --leaderboard-dir "$LB"
row train "\`--set train.threads=-1\`" -- "$MMB" run "$W/c.yaml" --set train.threads=-1 --leaderboard-dir "$LB"
row train "\`--set train.max_train_rows=-5\`" -- "$MMB" run "$W/c.yaml" --set train.max_train_rows=-5 --leaderboard-dir "$LB"
row train "\`--set train.lr=1e-3\` (YAML reads it as a string) (works)" -- "$MMB" run "$W/c.yaml" --set train.lr=1e-3 --set train.seed=11 --leaderboard-dir "$LB"
row train "257 train rows, batch 256, a batch-norm model (works)" -- "$MMB" run "$W/c.yaml" --set model.name=dcn --set model.embedding_dim=4 --set model.dnn_hidden=[8] --set model.attention_hidden=[8] --set train.batch_size=256 --set train.max_train_rows=257 --leaderboard-dir "$LB"
row model "\`--set model.name=din --set model.embedding_dim=0\`" -- "$MMB" run "$W/c.yaml" --set model.name=din --set model.embedding_dim=0 --leaderboard-dir "$LB"
row model "\`--set model.name=din --set model.dnn_hidden=[64,0]\`" -- "$MMB" run "$W/c.yaml" --set model.name=din "--set" "model.dnn_hidden=[64,0]" --leaderboard-dir "$LB"
row model "\`--set model.name=dcn --set model.net_dropout=1.5\`" -- "$MMB" run "$W/c.yaml" --set model.name=dcn --set model.net_dropout=1.5 --leaderboard-dir "$LB"
row model "a model of 10^12 parameters (dcn, widths 65536)" -- "$MMB" run "$W/c.yaml" --set model.name=dcn --set model.embedding_dim=65536 "--set" "model.dnn_hidden=[65536,65536]" --leaderboard-dir "$LB"
row reducer "\`reducer.dim=128\` above hashed_bow's 64 dims" -- "$MMB" run "$W/c.yaml" --set reducer.dim=128 --leaderboard-dir "$LB"
row reducer "\`reducer.dim=400\` above the 300 items" -- "$MMB" run "$W/c.yaml" --set encoder.name=random --set encoder.dim=512 --set reducer.dim=400 --leaderboard-dir "$LB"
row reducer "\`export-embeddings\` with \`reducer.dim=128\` on 64-d vectors" -- "$MMB" export-embeddings "$W/c.yaml" --set reducer.dim=128 --out "$W/e.parquet"
printf 'dataset: {name: microlens_1m_synth, scale: tiny, data_root: %s}\nencoder: {name: hashed_bow, dim: 64}\nreducer: {name: pca, dim: 8}\nmodel: {name: mean_pool_lr}\nreducer: {name: none}\n' "$W/tiny" > "$W/dup.yaml"
row config "two \`reducer:\` keys in one file" -- "$MMB" run "$W/dup.yaml" --leaderboard-dir "$LB"
broken() {  # broken NAME FILE EXPR [CONFIG LINES]: a copy of the tiny root with FILE rewritten through EXPR
  local name=$1 file=$2 expr=$3; shift 3
  cp -r "$W/tiny" "$W/$name"; pyedit "$W/$name/$file" "$expr"
  cfg "$W/c.yaml" "dataset: {name: microlens_1m, data_root: $W/$name}" "$@"
}
broken d5 MicroLens_1M_x1/valid.parquet 'setcol(t, "label", pa.array(np.zeros(len(t), np.int64)))'
row data "every valid label is 0" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
broken d6 MicroLens_1M_x1/train.parquet 't.slice(0, 0)'
row data "train.parquet with 0 rows" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
broken d7 MicroLens_1M_x1/train.parquet 'setcol(t, "user_id", pa.array(np.r_[2_000_000_000, t.column("user_id").to_numpy()[1:]]))'
row data "a user_id of 2,000,000,000" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
PRECOMPUTED="encoder: {name: precomputed, columns: [item_emb_d128_v1]}"
broken d8 item_emb.parquet 'setcol(t, "item_emb_d128_v1", pa.FixedSizeListArray.from_arrays(pa.array(np.where(np.arange(len(t) * 128) == 903, np.nan, t.column("item_emb_d128_v1").combine_chunks().flatten().to_numpy()), pa.float32()), 128))' "$PRECOMPUTED"
row data "NaN in a shipped embedding column (precomputed encoder)" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
broken d9 item_feature.parquet 'setcol(t, "item_title", pa.Array.from_buffers(pa.string(), len(t), pa.array([b"caf\xe9"] + [s.encode() for s in t.column("item_title").to_pylist()[1:]], pa.binary()).buffers()[:3]))'
row data "an item_title that is not UTF-8" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
broken d10 item_emb.parquet 't.slice(0, 10)' "$PRECOMPUTED"
row data "item_emb.parquet covering 10 of 300 items (works)" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
cp -r "$W/tiny" "$W/d11"; echo '{"valid_auc": "n/a", "tool": "other"}' > "$W/d11/oracle.json"; echo notes > "$W/d11/README.txt"
ln -s "$W/gone" "$W/d11/item_images/17.jpg.part"
cfg "$W/c.yaml" "dataset: {name: microlens_1m, data_root: $W/d11}"
row "data root" "another tool's oracle.json, README.txt and a dangling link in item_images/ (works)" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
cfg "$W/c.yaml"
Q=$REPO/configs/quickstart.yaml
row "--set" "quickstart \`--set model.name=din\` (+ train.device=cuda to stop after resolution)" -- "$MMB" run "$Q" --set model.name=din --set train.device=cuda --leaderboard-dir "$LB"
row "--set" "quickstart \`--set encoder.name=clip\` (+ train.device=cuda)" -- "$MMB" run "$Q" --set encoder.name=clip --set train.device=cuda --leaderboard-dir "$LB"
row "--set" "quickstart \`--set dataset.name=microlens_1m\`" -- "$MMB" run "$Q" --set dataset.name=microlens_1m --leaderboard-dir "$LB"
START=$SECONDS
row noise "\`encoder.name=clip\` with no network and no local copy" -- env -u HF_HUB_OFFLINE "$MMB" run "$W/c.yaml" --set encoder.name=clip --leaderboard-dir "$LB"
echo "|  | noise | (the clip case above took $((SECONDS - START)) s, importing torch included) |  |  |  |  |"
mkdist disk-full diskfull errplug_diskfull 'import errno, os, mmbench
from mmbench.contract.components import Dataset
class DiskFull(Dataset):
    def load(self, ctx): raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/cache/x.npy")
@mmbench.hookimpl
def register_datasets(register): register("disk_full", DiskFull)'
cfg "$W/c.yaml" "dataset: {name: disk_full}"
row handler "a disk-full OSError raised inside a dataset plugin" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
rm -r "$SITE"/disk_full-0.1.dist-info
cfg "$W/c.yaml" "train: {epochs: 1, device: cpu, seed: 12}"
(umask 002; "$MMB" run "$W/c.yaml" --leaderboard-dir "$W/lb002" >/dev/null 2>&1)
echo "| $((N + 1)) | modes | a run under umask 002: modes of the CSV, markdown, chart and a prediction file | 0 | $(cd "$W/lb002" && stat -c '%n %a' *.csv *.md *.png */preds/*.npy | head -4 | awk '{printf "%s%s", (NR>1?", ":""), $0}') | 0 | |"
rm -rf "$W"
