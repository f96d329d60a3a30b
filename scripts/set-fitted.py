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
    """Index of the line holding the last key of `path`: each key a direct child of the one before
    (at the indentation of its parent's first child), the first at the top level."""
    keys = path.split(".")
    start, child_indent = -1, 0
    for key in keys:
        pattern = re.compile(r"^(\s*)" + re.escape(key) + r":(\s|$)")
        found = None
        for i in range(start + 1, len(lines)):
            text = lines[i]
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            indent = len(text) - len(text.lstrip())
            if indent < child_indent:
                break  # left the parent block
            m = pattern.match(text)
            if m and indent == child_indent:
                found = i
                break
        if found is None:
            sys.exit(f"set-fitted: {path}: key {key!r} is not a direct child of its parent")
        start = found
        # the indentation of the found key's first child
        child_indent = None
        for j in range(found + 1, len(lines)):
            if lines[j].strip() and not lines[j].lstrip().startswith("#"):
                child_indent = len(lines[j]) - len(lines[j].lstrip())
                break
        base = len(lines[found]) - len(lines[found].lstrip())
        if child_indent is None or child_indent <= base:
            child_indent = base + 1  # a leaf: no children (only the last key may be one)
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
    for text in [args.fit, args.data] + list(hows.values()):
        if '"' in text or "\\" in text:
            sys.exit("set-fitted: quotes and backslashes are not allowed in --fit, --data or --how")
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
