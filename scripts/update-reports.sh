#!/usr/bin/env bash
# Regenerates the example reports under reports/ (linked from the README) from the shipped chips,
# systems, workloads and sweep specs, through a fresh database:
#   - the shipped chips compared on a real model's decode step (Llama-3.1-8B, batch 64, 2,048-token context);
#   - one run in full: the Llama-2-7B layer prefill (2,048 tokens) on the H100;
#   - a system run: a Llama-2-70B layer with TP 8 on a DGX H100 (its all-reduces on NVLink);
#   - a sweep's Pareto front: the 910B with more HBM bandwidth and L2 against the H20.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product xpusim >/dev/null
X="$(swift build --show-bin-path)/xpusim"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XPUSIM_DB="$work/reports.sqlite"
mkdir -p reports
stored() { sed -n 's/^stored as run \([0-9]*\) .*/\1/p'; }

decode=workloads/llama-3.1-8b-decode-b64-ctx2048.yaml
ids=()
for chip in h100-sxm h20 h200-sxm b200 a100-sxm ascend-910b2 ascend-910c mlu590 metax-c500; do
  ids+=("$("$X" run --chip "$chip" --workload "$decode" | stored)")
done
"$X" report --compare "${ids[@]}" -o reports/chips-llama-3.1-8b-decode.html

id=$("$X" run --chip h100-sxm --workload workloads/llama2-7b-layer-prefill2048.yaml | stored)
"$X" report "$id" -o reports/run-h100-llama2-7b-prefill.html

id=$("$X" run --system dgx-h100 --workload workloads/llama2-70b-layer-tp8-prefill2048.yaml | stored)
"$X" report "$id" -o reports/system-dgx-h100-llama2-70b-tp8-prefill.html

"$X" sweep run workloads/sweeps/910b-memory-vs-h20.yaml --no-progress >/dev/null
"$X" report workloads/sweeps/910b-memory-vs-h20.yaml -o reports/sweep-910b-memory-vs-h20.html
