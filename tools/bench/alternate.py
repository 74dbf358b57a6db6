#!/usr/bin/env python3
"""Time several commands with their runs interleaved, so machine drift hits every engine alike.

usage: alternate.py [--runs N] [--warmup W] [--export-json FILE] -n NAME CMD [-n NAME CMD ...]

Each round runs every command once, in an order rotated from round to round. The JSON has the
shape of hyperfine's --export-json (results[].command/mean/median/min/max/stddev/times), with
`mean` set to the median: on a shared machine the median is the figure that drifts least.
CMD is split with shlex and run without a shell; stdout and stderr are discarded."""
import argparse, json, shlex, statistics, subprocess, sys, time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--export-json")
    ap.add_argument("-n", nargs=2, action="append", metavar=("NAME", "CMD"), required=True)
    a = ap.parse_args()
    commands = [(name, shlex.split(cmd)) for name, cmd in a.n]

    def once(argv):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        return time.perf_counter() - t0

    for _ in range(a.warmup):
        for _, argv in commands:
            once(argv)
    times = {name: [] for name, _ in commands}
    for r in range(a.runs):
        k = r % len(commands)
        for name, argv in commands[k:] + commands[:k]:
            times[name].append(once(argv))
    results = []
    for name, _ in commands:
        t = times[name]
        med = statistics.median(t)
        results.append({"command": name, "mean": med, "median": med, "min": min(t), "max": max(t),
                        "stddev": statistics.pstdev(t) if len(t) > 1 else 0.0, "times": t})
        print("%-10s median %8.1f ms  min %8.1f ms  max %8.1f ms  (%d runs)"
              % (name, med * 1000, min(t) * 1000, max(t) * 1000, len(t)), file=sys.stderr)
    if a.export_json:
        with open(a.export_json, "w") as f:
            json.dump({"results": results}, f, indent=1)


if __name__ == "__main__":
    main()
