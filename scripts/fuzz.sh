#!/usr/bin/env bash
# Fuzz the readers: seeded mutations of the shipped chip, library and trace files (YAML and JSON)
# and the regression inputs in Tests/WorkloadsTests/Fuzz, through the full readers, in release.
#
#   scripts/fuzz.sh                      # 1,000,000 inputs, seed 1, one worker per core
#   scripts/fuzz.sh 200000 7             # 200,000 inputs from seed 7
#   JOBS=1 scripts/fuzz.sh               # one worker
#
# Each worker fuzzes its share from its own seed (seed, seed+1, ...), so a run is repeatable.
# A crash, a hang (one input over 10 s) or memory past 2 GiB stops a worker and leaves the input
# in .build/fuzz/worker-N/; a finding (a wrong error, a tree Yams reads differently) is saved there
# too. The exit status is non-zero if any worker found anything.
set -euo pipefail
cd "$(dirname "$0")/.."
inputs=${1:-1000000}
seed=${2:-1}
jobs=${JOBS:-$(nproc)}
swift build -c release --static-swift-stdlib --product xpusim-fuzz >/dev/null
binary=$(swift build -c release --static-swift-stdlib --show-bin-path)/xpusim-fuzz
start=$(date +%s)
pids=()
for ((w = 0; w < jobs; w++)); do
    share=$((inputs / jobs + (w < inputs % jobs ? 1 : 0)))
    out=.build/fuzz/worker-$w
    rm -rf "$out" && mkdir -p "$out"
    "$binary" --seed $((seed + w)) --inputs "$share" --out "$out" --time-limit 10 --memory-limit 2048 >"$out/log" 2>&1 &
    pids+=($!)
done
status=0
for ((w = 0; w < jobs; w++)); do
    if ! wait "${pids[$w]}"; then
        status=1
        echo "worker $w (seed $((seed + w))) failed:"
        ls .build/fuzz/worker-$w/
    fi
    tail -n 2 .build/fuzz/worker-$w/log | sed "s/^/worker $w: /"
    # A crash leaves the input being read behind.
    if [ -f .build/fuzz/worker-$w/current-input ]; then
        status=1
        echo "worker $w crashed on .build/fuzz/worker-$w/current-input"
    fi
done
echo "$inputs inputs in $(($(date +%s) - start)) s with $jobs workers; $([ $status = 0 ] && echo "no crash, hang, memory blow-up or finding" || echo "FAILED")"
exit $status
