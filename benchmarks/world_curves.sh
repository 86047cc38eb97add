#!/usr/bin/env bash
# Issue 20's measurement: the published QIN and DIN configurations on a synthetic world at full scale,
# per epoch, beside the real data's QIN curve (../shared/published-results.md). Each run writes a
# timestamped log (one line per epoch with valid AUC and train logloss) and, when it ends, a row in
# the committed full-scale board.
#   EPOCHS=5 bash benchmarks/world_curves.sh                 # a GPU: minutes; this 2-core CPU: ~10 h
#   EPOCHS=1 THREADS=1 WORLD=2 bash benchmarks/world_curves.sh
#   SCALE=medium CONFIGS=official_baseline EPOCHS=5 THREADS=1 bash benchmarks/world_curves.sh   # one config
#   WORLD=3 SCALE=medium BATCH=2048 EPOCHS=5 THREADS=1 bash benchmarks/world_curves.sh   # medium as full: 440 steps an epoch
# On a lent GPU machine (its $OUT comes back): OUT=$OUT EPOCHS=5 bash benchmarks/world_curves.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-world-curves}" epochs="${EPOCHS:-5}" threads="${THREADS:-0}" world="${WORLD:-2}"
board="${BOARD:-leaderboards}" scale="${SCALE:-full}" configs="${CONFIGS:-qin_disco_ahu official_baseline}"
batch=()  # BATCH: another batch size than each config's own (the published 8192)
[ -n "${BATCH:-}" ] && batch=(--set "train.batch_size=$BATCH")
mkdir -p "$out"
for config in $configs; do
    echo "== $config: world $world, $scale, $epochs epoch(s) -> $out/$config.log"
    mmbench --log-format text run "configs/published/$config.yaml" \
        --set dataset.name=microlens_1m_synth --set "dataset.scale=$scale" --set "dataset.world=$world" \
        --set "train.epochs=$epochs" --set "train.threads=$threads" "${batch[@]}" \
        --leaderboard-dir "$board" > "$out/$config.log" 2>&1
    echo "   exit $? ; $(grep -E ' epoch [0-9]+: train logloss' "$out/$config.log" | sed 's/^.* epoch /epoch /' | tr '\n' ';')"
done
