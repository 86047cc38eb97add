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
class Bad:
    Params = None
    def __init__(self, params): pass
    def encode(self, items, ctx): return {}["title"]
@mmbench.hookimpl
def register_encoders(register): register("bad_encoder", Bad)'
cfg "$W/c.yaml" "encoder: {name: bad_encoder}"
row plugins "encoder raising KeyError in encode()" -- "$MMB" run "$W/c.yaml" --leaderboard-dir "$LB"
mkdist nan-plugin nan errplug_nan 'import torch, mmbench
class NanModel(torch.nn.Module):
    Params = None
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
rm -rf "$W"
