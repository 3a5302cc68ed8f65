#!/usr/bin/env bash
# Streamed (www/tests/hub-emulator.mjs) vs local TIES of three 134 MB F16 models, median of N
# runs each, interleaved; output bytes compared every run. Usage: benches/hub_stream.sh [WORK_DIR]
# (needs python3 with numpy, node, and a release build: BIN=…/release/mixmerge).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/var/tmp/hubbench}
mkdir -p "$WORK"
[ -f "$WORK/hub/org/b/model.safetensors" ] || python3 "$REPO/benches/hub_stream_models.py" "$WORK"
cd "$WORK"
BIN=${BIN:-${CARGO_TARGET_DIR:-/var/tmp/mixmerge-target}/release/mixmerge}
N=${N:-5}
printf 'merge_method: ties\nbase_model: org/base\nmodels:\n  - model: org/a\n    parameters: {weight: 0.5, density: 0.5}\n  - model: org/b\n    parameters: {weight: 0.5, density: 0.5}\ndtype: float16\n' > hub.yml
sed 's#org/#local/#g' hub.yml > local.yml
coproc EMU { node "$REPO/www/tests/hub-emulator.mjs" "$WORK/hub"; }
read -r line <&"${EMU[0]}"
endpoint=$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["endpoint"])')
for i in $(seq $N); do
  for kind in hub local; do
    rm -rf out-$kind; cache=$(mktemp -d)
    /usr/bin/time -f "$kind %e s %M KB" env HF_ENDPOINT=$endpoint HF_HUB_CACHE=$cache $BIN merge $kind.yml out-$kind --quiet 2>>times.txt
  done
  cmp out-hub/model.safetensors out-local/model.safetensors
done
kill $EMU_PID
for kind in hub local; do
  grep "^$kind " times.txt | tail -$N | sort -k2 -n | awk -v n=$N 'NR==int((n+1)/2){print "median", $0}'
done
