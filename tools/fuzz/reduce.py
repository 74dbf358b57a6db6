#!/usr/bin/env python3
"""Shrinks a program on which the engines disagree, keeping the disagreement.

    reduce.py IN.rib OUT.rib [--ribbon PATH] [--part status|out|err]

Repeatedly deletes indented blocks (a line and the more-indented lines under it), then
single lines, keeping a deletion when the program still compiles and `--jit eager` or
`--jit tier --jit-threshold 2` still differs from `--jit off` (in PART, when given).
The result usually needs a little hand-editing to read well.
"""
import argparse
import os
import subprocess
import sys
import tempfile

MODES = [["--jit", "off"], ["--jit", "eager"], ["--jit", "tier", "--jit-threshold", "2"]]


def run(ribbon, path, mode):
    try:
        p = subprocess.run([ribbon, "run", path, "--no-cache"] + mode, capture_output=True, timeout=5)
    except subprocess.TimeoutExpired:
        return None
    return {"status": p.returncode, "out": p.stdout, "err": p.stderr.replace(path.encode(), b"P")}


def disagrees(ribbon, text, part):
    with tempfile.NamedTemporaryFile("w", suffix=".rib", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        ref = run(ribbon, path, MODES[0])
        if ref is None or ref["status"] == 1:
            return False
        for mode in MODES[1:]:
            r = run(ribbon, path, mode)
            if r is None:
                return False
            parts = [part] if part else ["status", "out", "err"]
            if any(r[p] != ref[p] for p in parts):
                return True
        return False
    finally:
        os.unlink(path)


def indent(line):
    return len(line) - len(line.lstrip(" "))


def block_end(lines, i):
    j = i + 1
    while j < len(lines) and (lines[j].strip() == "" or indent(lines[j]) > indent(lines[i])):
        j += 1
    return j


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--ribbon", default=os.path.join(os.path.dirname(__file__), "../../.build/release/ribbon"))
    ap.add_argument("--part", choices=["status", "out", "err"])
    a = ap.parse_args()
    lines = open(a.input).read().split("\n")
    if not disagrees(a.ribbon, "\n".join(lines), a.part):
        sys.exit("the engines agree on %s" % a.input)
    progress = True
    while progress:
        progress = False
        for whole_blocks in (True, False):
            i = 0
            while i < len(lines):
                j = block_end(lines, i) if whole_blocks else i + 1
                candidate = lines[:i] + lines[j:]
                if disagrees(a.ribbon, "\n".join(candidate), a.part):
                    lines = candidate
                    progress = True
                else:
                    i += 1
        with open(a.output, "w") as f:
            f.write("\n".join(lines))
        print("%d lines" % len(lines), file=sys.stderr)


if __name__ == "__main__":
    main()
