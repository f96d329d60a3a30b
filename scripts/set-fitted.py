#!/usr/bin/env python3
"""Write fitted values into a chip or library YAML file as `kind: fitted` figures.

    python3 scripts/set-fitted.py FILE --fit "xpusim calibrate ..." --data sha256:... \
        efficiency.matrix=0.850 memory.l2.latency="250 ns" [--how PATH="remark"]

Each PATH (dot-separated, as in the file's nesting) must already be a one-line figure
`{value: ..., ...}`; its line becomes `{value: NEW, kind: fitted, fit: "...", data: "...", how: "..."}`.
A `how` already on the line is kept unless it only said "fitted by ..." (the fit: field says that now)
or --how replaces it. The rest of the file is left byte for byte as it was.
"""

import argparse
import re
import sys


def find_line(lines, path):
    """Index of the line holding the last key of `path`, following indentation."""
    keys = path.split(".")
    start, indent = 0, -1
    for depth, key in enumerate(keys):
        pattern = re.compile(r"^(\s*)" + re.escape(key) + r":(\s|$)")
        for i in range(start, len(lines)):
            m = pattern.match(lines[i])
            line_indent = len(lines[i]) - len(lines[i].lstrip())
            if lines[i].strip() and not lines[i].lstrip().startswith("#") and line_indent <= indent and i > start:
                break  # left the parent block
            if m and len(m.group(1)) > indent and (depth > 0 or not m.group(1)):
                start, indent = i, len(m.group(1))
                break
        else:
            sys.exit(f"set-fitted: {path}: key {key!r} not found")
        if not pattern.match(lines[start]):
            sys.exit(f"set-fitted: {path}: key {key!r} not found under its parent")
    return start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--fit", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--how", action="append", default=[], help='PATH="remark" kept beside the fit')
    parser.add_argument("values", nargs="+", help="PATH=VALUE")
    args = parser.parse_args()
    hows = dict(h.split("=", 1) for h in args.how)
    with open(args.file, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for assignment in args.values:
        path, value = assignment.split("=", 1)
        i = find_line(lines, path)
        m = re.match(r"^(\s*[\w.-]+:\s*)\{(.*)\}\s*$", lines[i])
        if not m:
            sys.exit(f"set-fitted: {args.file}:{i + 1}: {path} is not a one-line figure {{value: ...}}")
        old_how = re.search(r'how:\s*"((?:[^"\\]|\\.)*)"', m.group(2))
        how = hows.get(path)
        if how is None and old_how and not old_how.group(1).startswith("fitted"):
            how = old_how.group(1)
        fields = [f"value: {value}", "kind: fitted", f'fit: "{args.fit}"', f'data: "{args.data}"']
        if how:
            fields.append(f'how: "{how}"')
        lines[i] = m.group(1) + "{" + ", ".join(fields) + "}"
        print(f"{args.file}:{i + 1}: {path} = {value}")
    with open(args.file, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
