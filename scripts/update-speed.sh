#!/usr/bin/env bash
# Runs the speed benchmark in release, records its measures in docs/speed.json and regenerates
# README.md's Speed table from that record (the table between the speed markers; nothing else is
# touched). SpeedRecordTests fail when the committed table differs from the committed record.
# With --render-only, the table is rendered from the committed record without measuring.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --product xpusim >/dev/null
swift build -c release --static-swift-stdlib --product xpusim-bench >/dev/null
bench=.build/release/xpusim-bench
if [ "${1:-}" != "--render-only" ]; then
    "$bench" --record docs/speed.json
fi
table=$("$bench" --render docs/speed.json)
python3 scripts/put-block.py README.md speed "$table"
