#!/usr/bin/env python3
"""Replaces the generated block between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in FILE
with TEXT (nothing else in the file is touched). Used by scripts/update-accuracy.sh and
scripts/update-speed.sh: put-block.py FILE NAME TEXT"""
import sys

path, name, table = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path, encoding="utf-8").read()
begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
if begin not in text or end not in text:
    sys.exit(f"put-block: {path} has no {begin} ... {end} block")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(path, "w", encoding="utf-8").write(head + begin + "\n" + table + "\n" + end + tail)
print(f"{path}: {name} updated")
