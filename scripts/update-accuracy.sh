#!/usr/bin/env bash
# Regenerates the accuracy tables in README.md and docs/validation.md from `xpusim validate --all`
# (the tables between the accuracy markers; nothing else is touched). The ValidationTests fail
# when the committed tables differ from what the code computes: run this after a model change or
# a refit, and review the diff.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product xpusim >/dev/null
bin=.build/release/xpusim
full=$("$bin" validate --all --format markdown)
summary=$("$bin" validate --all --format markdown-summary)
python3 - "$full" "$summary" <<'PY'
import re, sys
full, summary = sys.argv[1], sys.argv[2]
def put(path, name, table):
    text = open(path, encoding="utf-8").read()
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in text or end not in text:
        sys.exit(f"update-accuracy: {path} has no {begin} ... {end} block")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    open(path, "w", encoding="utf-8").write(head + begin + "\n" + table + "\n" + end + tail)
    print(f"{path}: {name} updated")
put("docs/validation.md", "accuracy-table", full)
put("README.md", "accuracy-summary", summary)
PY
