#!/usr/bin/env python3
"""Interleaved timer for tools/bench/warm.sh: alternate.py's rounds, plus per-command environment,
a fresh empty directory per run, and the child's resource usage.

usage: warm_timer.py [--runs N] [--warmup W] [--export-json FILE] [--fresh-root DIR]
                     [--save-stderr DIR] -n NAME CMD [-n NAME CMD ...]

Rounds as in alternate.py: each round runs every command once, in an order rotated from round to
round, and the figure is the median wall time (`mean` in the JSON is the median, as there).
CMD is split with shlex and started with posix_spawnp (no shell); stdout and stderr go to
/dev/null, or stderr of timed run I (from 0) to DIR/NAME.I.stderr with --save-stderr (so it can
be paired with `times`[I] in the JSON). Leading words of the form VAR=VALUE set environment variables for that command only
(on top of this process's environment), as in a shell. Every `{fresh}` in CMD is replaced, for
each run separately, by a new empty directory of mode 0700 made under --fresh-root before the
clock starts and removed after it stops, so "cold cache" runs do not time mkdtemp or rm.
(alternate.py runs a fixed argv with the timer's own environment, which cannot give every cold
run its own empty cache directory without timing a shell or `env` as well; hence this timer.)
The JSON adds, per command, `exit_codes` (distinct non-zero exit statuses seen) and medians of
the child's getrusage: `minflt` (minor page faults), `majflt` and `maxrss_kb`; and at the top,
`timer_maxrss_kb`, this process's own peak RSS. A child's ru_maxrss is never below the RSS of
the process that spawned it (Linux carries the pre-exec high-water mark over exec), so a
`maxrss_kb` at or below `timer_maxrss_kb` only says "at most that much"."""
import argparse, json, os, re, resource, shlex, shutil, statistics, sys, tempfile, time

ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def parse(cmd):
    words = shlex.split(cmd)
    env = {}
    while words and ASSIGN.match(words[0]):
        k, v = words.pop(0).split("=", 1)
        env[k] = v
    if not words:
        raise SystemExit("warm_timer.py: empty command: %r" % cmd)
    return env, words


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--export-json")
    ap.add_argument("--fresh-root", default=None)
    ap.add_argument("--save-stderr", default=None)
    ap.add_argument("-n", nargs=2, action="append", metavar=("NAME", "CMD"), required=True)
    a = ap.parse_args()
    commands = []
    for name, cmd in a.n:
        extra, argv = parse(cmd)
        env = dict(os.environ)
        env.update(extra)
        commands.append((name, argv, env))
    fresh_root = a.fresh_root or tempfile.gettempdir()
    os.makedirs(fresh_root, exist_ok=True)
    devnull = os.open(os.devnull, os.O_WRONLY)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]

    if a.save_stderr:
        os.makedirs(a.save_stderr, exist_ok=True)

    def once(argv, env, stderr_path=None):
        fresh = None
        if any("{fresh}" in w for w in argv) or any("{fresh}" in v for v in env.values()):
            fresh = tempfile.mkdtemp(prefix="fresh-", dir=fresh_root)   # mode 0700
            argv = [w.replace("{fresh}", fresh) for w in argv]
            env = {k: v.replace("{fresh}", fresh) for k, v in env.items()}
        file_actions = actions
        if stderr_path:
            file_actions = actions[:1] + [(os.POSIX_SPAWN_OPEN, 2, stderr_path,
                                           os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)]
        t0 = time.perf_counter()
        pid = os.posix_spawnp(argv[0], argv, env, file_actions=file_actions)
        _, status, ru = os.wait4(pid, 0)
        t = time.perf_counter() - t0
        if fresh:
            shutil.rmtree(fresh, ignore_errors=True)
        return t, os.waitstatus_to_exitcode(status), ru

    for _ in range(a.warmup):
        for _, argv, env in commands:
            once(argv, env)
    times = {name: [] for name, _, _ in commands}
    usage = {name: [] for name, _, _ in commands}
    codes = {name: set() for name, _, _ in commands}
    for r in range(a.runs):
        k = r % len(commands)
        for name, argv, env in commands[k:] + commands[:k]:
            path = None
            if a.save_stderr:
                path = os.path.join(a.save_stderr, "%s.%d.stderr" % (name, len(times[name])))
            t, code, ru = once(argv, env, path)
            times[name].append(t)
            usage[name].append(ru)
            if code != 0:
                codes[name].add(code)
    results = []
    for name, _, _ in commands:
        t = times[name]
        med = statistics.median(t)
        u = usage[name]
        res = {"command": name, "mean": med, "median": med, "min": min(t), "max": max(t),
               "stddev": statistics.pstdev(t) if len(t) > 1 else 0.0, "times": t,
               "exit_codes": sorted(codes[name]),
               "minflt": statistics.median(x.ru_minflt for x in u),
               "majflt": statistics.median(x.ru_majflt for x in u),
               "maxrss_kb": statistics.median(x.ru_maxrss for x in u)}
        results.append(res)
        print("%-16s median %8.1f ms  min %8.1f ms  max %8.1f ms  (%d runs)  minflt %6d  rss %7d kB%s"
              % (name, med * 1000, min(t) * 1000, max(t) * 1000, len(t), res["minflt"],
                 res["maxrss_kb"], "  EXIT %s" % res["exit_codes"] if res["exit_codes"] else ""),
              file=sys.stderr)
    if a.export_json:
        with open(a.export_json, "w") as f:
            json.dump({"timer_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                       "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
