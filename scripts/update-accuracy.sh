#!/usr/bin/env bash
# Regenerates the accuracy tables in README.md and docs/validation.md from `xpusim validate --all`
# (the tables between the accuracy markers; nothing else is touched). The ValidationTests fail
# when the committed tables differ from what the code computes: run this after a model change or
# a refit, and review the diff.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --product xpusim >/dev/null
bin=.build/release/xpusim
full=$("$bin" validate --all --format markdown)
summary=$("$bin" validate --all --format markdown-summary)
python3 scripts/put-block.py docs/validation.md accuracy-table "$full"
python3 scripts/put-block.py README.md accuracy-summary "$summary"
