#!/usr/bin/env python3
"""Turn the results of tools/bench/warm.sh into a Markdown report.

usage: warm_table.py OUT-DIR RUNS PERF-OK RIBBON-BINARY

Reads OUT-DIR/times.json (warm_timer.py's JSON), OUT-DIR/status (name<TAB>ok|failed|wrong|missing),
OUT-DIR/warnings.txt, OUT-DIR/stats.json with OUT-DIR/stats/NAME.I.stderr (the --stats session:
wall times and ribbon's --stats lines, paired by run), OUT-DIR/perf-*.csv (perf stat -x, output)
and OUT-DIR/python-importtime.txt."""
import datetime
import json
import os
import socket
import statistics
import sys

CASES = [  # (timer name, label, status name that gates it or None)
    ("rib-uncached", "ribbon uncached (`--no-cache`)", None),
    ("rib-cold", "ribbon cold (fresh empty cache dir)", None),
    ("rib-warm", "ribbon warm (primed cache)", None),
    ("hello-uncached", "ribbon hello uncached", None),
    ("hello-warm", "ribbon hello warm", None),
    ("luajit-bc", "luajit -b large.luac", "luajit-bc"),
    ("luajit-bc-hello", "luajit -b hello.luac", "luajit-bc"),
    ("python-pyc", "python3.11 import large (.pyc)", "python-pyc"),
    ("python-hello", "python3.11 hello.py", "python-pyc"),
    ("lua54", "lua5.4 large.lua (source)", "lua54"),
]
# (numerator, denominator, label, goal or None)
RATIOS = [
    ("rib-warm", "rib-uncached", "warm / uncached", 0.05),
    ("rib-warm", "hello-warm", "warm / warm hello", 1.5),
    ("rib-warm", "luajit-bc", "warm / luajit -b", None),
    ("rib-warm", "python-pyc", "warm / python .pyc", None),
    ("rib-cold", "rib-uncached", "cold / uncached (cost of storing)", None),
    ("hello-warm", "hello-uncached", "warm hello / uncached hello", None),
    ("hello-warm", "luajit-bc-hello", "warm hello / luajit -b hello", None),
    ("rib-uncached", "lua54", "uncached / lua5.4 source", None),
]
STATS_CASES = [("uncached", "uncached", "rib-uncached"), ("cold", "cold", "rib-cold"),
               ("warm", "warm", "rib-warm"), ("hello-warm", "warm hello", "hello-warm")]
COUNTERS = ["units_compiled", "units_loaded", "functions_compiled", "jit_compiled", "jit_loaded"]
PHASES = ["parse", "compile", "jit", "cache_load", "cache_store", "run"]


def ms(s):
    v = s * 1000
    return "%.0f ms" % v if v >= 100 else "%.1f ms" % v if v >= 10 else "%.2f ms" % v


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def main():
    out, runs, perf_ok, binary = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
    times = {r["command"]: r for r in json.loads(read(os.path.join(out, "times.json"), '{"results":[]}'))["results"]}
    status = dict(line.split("\t") for line in (read(os.path.join(out, "status"), "")).split("\n") if "\t" in line)
    warnings = [w for w in read(os.path.join(out, "warnings.txt"), "").split("\n") if w]
    stats_times = {r["command"]: r["times"] for r in
                   json.loads(read(os.path.join(out, "stats.json"), '{"results":[]}'))["results"]}
    stats = {}   # case -> [(wall seconds, stats dict)]
    for key, _, _ in STATS_CASES:
        runs_ = []
        for i, wall in enumerate(stats_times.get(key, [])):
            line = [l for l in read(os.path.join(out, "stats", "%s.%d.stderr" % (key, i)), "").split("\n")
                    if l.startswith('{"unit"')]
            try:
                runs_.append((wall, json.loads(line[-1])))
            except (ValueError, IndexError):
                pass
        stats[key] = runs_ or None
    timer_rss = json.loads(read(os.path.join(out, "times.json"), "{}")).get("timer_maxrss_kb", 0)
    lines = read(os.path.join(out, "large.rib"), "").count("\n")

    p = []
    p.append("## Warm start: ribbon vs LuaJIT bytecode vs CPython .pyc")
    p.append("")
    try:
        built = datetime.datetime.fromtimestamp(os.stat(binary).st_mtime).strftime("%Y-%m-%d %H:%M")
    except OSError:
        built = "?"
    p.append("%s on %s; binary `%s` (modified %s). Program: `gen_large_program.py --functions 5000` (%d lines "
             "of Ribbon). One interleaved session of %d rounds (+1 warm-up); median wall time of "
             "the whole process, start-up included. Faults and RSS: medians of the child's "
             "getrusage." % (datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), socket.gethostname(),
                             binary, built, lines, runs))
    p.append("")
    if warnings:
        p.append("**WARNING** (%d):" % len(warnings))
        p.append("")
        for w in warnings:
            p.append("- " + w)
        p.append("")

    p.append("| case | median | min | max | minor faults | max RSS |")
    p.append("|---|---:|---:|---:|---:|---:|")
    for name, label, gate in CASES:
        r = times.get(name)
        if r is None:
            st = status.get(gate, "missing") if gate else "missing"
            shown = {"wrong": "wrong"}.get(st, "n/a")
            p.append("| %s | %s | | | | |" % (label, shown))
            continue
        extra = " (exit %s)" % ",".join(map(str, r["exit_codes"])) if r.get("exit_codes") else ""
        rss = "%s%.1f MiB" % ("<= " if r["maxrss_kb"] <= timer_rss else "", r["maxrss_kb"] / 1024)
        p.append("| %s%s | %s | %s | %s | %d | %s |" % (
            label, extra, ms(r["median"]), ms(r["min"]), ms(r["max"]), r["minflt"], rss))
    p.append("")

    p.append("| ratio (of medians) | value | goal |")
    p.append("|---|---:|---|")
    for a, b, label, goal in RATIOS:
        if a in times and b in times and times[b]["median"] > 0:
            v = times[a]["median"] / times[b]["median"]
            g = "" if goal is None else "<= %g: %s" % (goal, "met" if v <= goal else "**NOT MET**")
            p.append("| %s | %.3f | %s |" % (label, v, g))
        else:
            p.append("| %s | n/a | %s |" % (label, "" if goal is None else "<= %g" % goal))
    p.append("")

    nstats = max([len(v) for v in stats.values() if v] or [0])
    p.append("### Phases (ribbon `--stats`: medians of %d interleaved runs after the session; µs)" % nstats)
    p.append("")
    present = [(k, label, t) for k, label, t in STATS_CASES]
    p.append("| | " + " | ".join(label for _, label, _ in present) + " |")
    p.append("|---|" + "---:|" * len(present))

    def row(label, f):
        # f(wall seconds, stats dict) -> number, per run; the cell is the median over runs
        cells = []
        for k, _, t in present:
            rs = stats.get(k)
            try:
                cells.append("%.0f" % statistics.median(f(w, s) for w, s in rs) if rs else "n/a")
            except (KeyError, TypeError):
                cells.append("?")
        p.append("| %s | %s |" % (label, " | ".join(cells)))

    units = []
    for k, _, _ in present:
        rs = stats.get(k) or []
        seen = sorted(set(s.get("unit", "?") for _, s in rs))
        units.append(", ".join("`%s`" % u for u in seen) or "n/a")
    p.append("| unit | %s |" % " | ".join(units))
    for c in COUNTERS:
        row(c, lambda w, s, c=c: s[c])
    for ph in PHASES:
        row("time_us." + ph, lambda w, s, ph=ph: s["time_us"][ph])
    row("sum of phases", lambda w, s: sum(s["time_us"].values()))
    row("wall (these runs)", lambda w, s: w * 1e6)
    row("wall outside the phases", lambda w, s: w * 1e6 - sum(s["time_us"].values()))
    cells = ["%.0f" % (times[t]["median"] * 1e6) if t in times else "n/a" for _, _, t in present]
    p.append("| wall (main session, no --stats) | %s |" % " | ".join(cells))
    p.append("")
    imp = read(os.path.join(out, "python-importtime.txt"), "").strip()
    if imp:
        try:
            self_us, cum_us = [int(x) for x in imp.split(":", 1)[1].split("|")[:2]]
            p.append("For comparison, `python3.11 -X importtime`: importing `large` from its .pyc "
                     "(unmarshal and run the module body) takes %d µs." % cum_us)
            p.append("")
        except (ValueError, IndexError):
            pass

    if perf_ok:
        p.append("### perf stat (`-e task-clock,page-faults`, mean of `-r` runs, ± relative stddev)")
        p.append("")
        p.append("| case | task-clock | page faults |")
        p.append("|---|---:|---:|")
        for case, label in [("warm", "ribbon warm"), ("uncached", "ribbon uncached"), ("hello-warm", "ribbon hello warm")]:
            vals = {}
            reps = ""
            for line in read(os.path.join(out, "perf-%s.csv" % case), "").split("\n"):
                f = line.split(",")
                if len(f) >= 4 and not line.startswith("#"):
                    vals[f[2]] = (f[0], f[3])
            tc = vals.get("task-clock")
            pf = vals.get("page-faults")
            p.append("| %s | %s | %s |" % (
                label,
                "%s ms ± %s" % (tc[0], tc[1]) if tc else "n/a",
                "%s ± %s" % (pf[0], pf[1]) if pf else "n/a"))
        p.append("")
    print("\n".join(p))


if __name__ == "__main__":
    main()
