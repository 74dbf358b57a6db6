#!/usr/bin/env python3
"""Turn the results of tools/bench/run.sh into a Markdown table.

usage: table.py RESULTS-DIR WORKLOAD...

For each WORKLOAD, reads RESULTS-DIR/WORKLOAD.status (lines `engine<TAB>ok|failed|wrong|missing|skip`)
and RESULTS-DIR/WORKLOAD.json (alternate.py's hyperfine-shaped JSON, commands named by engine)."""
import json
import os
import sys

ENGINES = [("interp", "ribbon interp"), ("lua54", "lua5.4"), ("luajit", "luajit"),
           ("jit", "ribbon jit"), ("c", "C -O2")]
RATIOS = [("interp", "lua54", "interp / lua5.4"), ("jit", "c", "jit / C"),
          ("luajit", "c", "luajit / C")]
NOT_TIMED = {"failed": "n/a", "missing": "n/a", "wrong": "wrong", "skip": "-"}


def fmt_time(s):
    if s >= 10:
        return "%.1f s" % s
    if s >= 1:
        return "%.2f s" % s
    return "%.1f ms" % (s * 1000) if s >= 0.01 else "%.2f ms" % (s * 1000)


def load(d, w):
    status, means = {}, {}
    try:
        with open(os.path.join(d, w + ".status")) as f:
            for line in f:
                if "\t" in line:
                    e, s = line.rstrip("\n").split("\t", 1)
                    status[e] = s
    except OSError:
        pass
    try:
        with open(os.path.join(d, w + ".json")) as f:
            for r in json.load(f)["results"]:
                means[r["command"]] = r["mean"]
    except (OSError, ValueError, KeyError):
        pass
    return status, means


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    d, workloads = sys.argv[1], sys.argv[2:]
    head = ["workload"] + [n for _, n in ENGINES] + [n for _, _, n in RATIOS]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    for w in workloads:
        status, means = load(d, w)
        row = [w]
        for e, _ in ENGINES:
            if e in means:
                row.append(fmt_time(means[e]))
            else:
                row.append(NOT_TIMED.get(status.get(e, "missing"), "n/a"))
        for a, b, _ in RATIOS:
            if a in means and b in means and means[b] > 0:
                row.append("%.2f" % (means[a] / means[b]))
            else:
                row.append("n/a")
        print("| " + " | ".join(row) + " |")
    print()
    print("Median wall time, runs interleaved across engines (alternate.py). n/a: engine failed or not installed; "
          "wrong: printed a wrong result; -: skipped for this workload.")


if __name__ == "__main__":
    main()
