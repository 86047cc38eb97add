#!/usr/bin/env bash
# Regenerates docs/leaderboard_html.png, the README's picture of `mmbench leaderboard --format html`:
# a world-2 small leaderboard (configs/sweeps/world2_page_small.yaml, then the 20-trial search
# configs/tune/din_world2_small.yaml, whose best trial shows as "selected on valid") rendered and
# photographed in headless Chromium. About 10 minutes on 2 cores.
# Usage: docs/leaderboard_html.sh [WORKDIR]   (needs chromium + chromium-driver and the dev extra)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
W=${1:-$(mktemp -d)}
mmbench sweep "$REPO/configs/sweeps/world2_page_small.yaml" --leaderboard-dir "$W/lb"
mmbench tune "$REPO/configs/tune/din_world2_small.yaml" --leaderboard-dir "$W/lb" --storage "sqlite:///$W/studies.db"
mmbench leaderboard --format html --leaderboard-dir "$W/lb" --out "$W/site"
python "$REPO/tests/browser.py" screenshot "$W/site/microlens_1m_synth-w2-small-s0.html" "$REPO/docs/leaderboard_html.png" 1900
echo "docs/leaderboard_html.png from $W/site/microlens_1m_synth-w2-small-s0.html"
