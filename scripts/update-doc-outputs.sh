#!/usr/bin/env bash
# Regenerates every command output quoted in README.md and docs/*.md: a block
#   <!-- xpusim: ARGS -->
#   ```text
#   ...
#   ```
#   <!-- /xpusim -->
# gets the standard output of `xpusim ARGS` (run from the package root on the shipped files).
# CLITests' DocOutputTests fail when a committed block differs from what the command prints today.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --product xpusim >/dev/null
export XPUSIM_BIN=.build/release/xpusim
python3 - README.md docs/*.md <<'PY'
import os, re, subprocess, sys
pattern = re.compile(r"(<!-- xpusim: (.*?) -->\n)(.*?)(<!-- /xpusim -->)", re.S)
env = dict(os.environ, COLUMNS="100", XPUSIM_CHIPS="chips")
for path in sys.argv[1:]:
    text = open(path, encoding="utf-8").read()
    def run(m):
        out = subprocess.run([os.environ["XPUSIM_BIN"]] + m.group(2).split(), capture_output=True, text=True, env=env, check=True).stdout
        return m.group(1) + "```text\n" + out + "```\n" + m.group(4)
    new, count = pattern.subn(run, text)
    if count:
        open(path, "w", encoding="utf-8").write(new)
        print(f"{path}: {count} output block(s) updated")
PY
