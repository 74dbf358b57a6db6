#!/usr/bin/env python3
"""Warm runs after `ribbon build --jit` against warm runs without stored machine code.

usage: tools/bench/warm_jit.py [--runs N] [--sizes 5000,50000] [--bin RIBBON] [--keep DIR]

Issue 12, item 3: a warm run used to read, hash and install every machine-code blob of its
unit, so after `build --jit` of 5,000 functions it was slower than no cache at all. Machine
code now loads as functions are placed, and a warm run reads in its lookup the blobs that
warm runs before it loaded (`warm_code`). The goals: warm after `build --jit` within 1.2x of
warm without stored machine code, for 5,000 and 50,000 functions, and the 50,000-function
warm run's peak RSS under 32 MiB.

For each size, tools/gen_large_program.py writes the program; every case's output is checked
against the uncached run's before timing. The cases, all `ribbon run p.rib` (default engine,
`--jit tier`), stdout and stderr discarded:
  uncached            --no-cache
  warm                a cache primed by a cold run and one warm run (it holds no machine code
                      when the run compiled nothing hot; the table says how many blobs it has)
  warm, build --jit   a cache primed by `build --jit` and one warm run (which lists the code it
                      loaded in `warm_code`): the steady state
  first after build   the first warm run after `build --jit`: each round copies the primed
                      cache (outside the clock), so every function's code is fetched as placed
All cases of one size run in ONE interleaved session (rounds rotate the order, as
tools/bench/alternate.py does; median wall time), because the shared machine drifts by 1.5x.
Peak RSS is the child's ru_maxrss (median). Prints a Markdown table.
"""
import argparse, os, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run(argv, env=None):
    """Runs argv; returns (seconds, maxrss KiB, status, stdout)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    return time.perf_counter() - t0, usage.ru_maxrss, os.waitstatus_to_exitcode(status), out


def blobs(cache):
    db = sqlite3.connect(os.path.join(cache, "cache.sqlite"))
    try:
        return db.execute("SELECT count(*) FROM machine_code").fetchone()[0]
    finally:
        db.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--sizes", default="5000,50000")
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build/release/ribbon"))
    ap.add_argument("--keep", help="work in this directory and keep it")
    a = ap.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="ribbon-warm-jit-")
    os.makedirs(work, exist_ok=True)
    rb = os.path.abspath(a.bin)
    print(f"| functions | case | median | / warm | peak RSS | blobs stored |")
    print(f"|---:|---|---:|---:|---:|---:|")
    ok = True
    for size in [int(s) for s in a.sizes.split(",")]:
        d = os.path.join(work, f"n{size}")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        prog = os.path.join(d, "p.rib")
        subprocess.run([sys.executable, os.path.join(ROOT, "tools/gen_large_program.py"), "--functions", str(size),
                        "--output", prog], check=True, stdout=subprocess.DEVNULL)
        # A source whose times (ctime too: utime sets it to now) are older than the digest trust
        # margin (2 s), so that warm runs need not read and hash it.
        old = time.time() - 60
        os.utime(prog, (old, old))
        time.sleep(2.5)
        caches = {name: os.path.join(d, name) for name in ("warm", "jit", "jit0", "first")}
        for c in caches.values():
            os.makedirs(c, mode=0o700)
        _, _, st, expected = run([rb, "run", "--no-cache", prog])
        assert st == 0, f"uncached run of {prog} failed"
        # Prime: warm = cold + one warm run; jit = build --jit + one warm run; jit0 = build --jit.
        for argv in ([rb, "run", "--cache-dir", caches["warm"], prog], [rb, "run", "--cache-dir", caches["warm"], prog],
                     [rb, "build", "--jit", "--cache-dir", caches["jit"], prog],
                     [rb, "build", "--jit", "--cache-dir", caches["jit0"], prog]):
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, st, out = run([rb, "run", "--cache-dir", caches["jit"], prog])
        assert st == 0 and out == expected, "warm run after build --jit differs"

        def fresh_first():
            shutil.rmtree(caches["first"])
            shutil.copytree(caches["jit0"], caches["first"])
            os.chmod(caches["first"], 0o700)
            # On disk, as `build --jit` leaves it: the copy's dirty pages would otherwise be
            # written by the run's first fdatasync (80 MB for 50,000 functions).
            os.sync()

        cases = [
            ("uncached", [rb, "run", "--no-cache", prog], None),
            ("warm", [rb, "run", "--cache-dir", caches["warm"], prog], None),
            ("warm, build --jit", [rb, "run", "--cache-dir", caches["jit"], prog], None),
            ("first after build --jit", [rb, "run", "--cache-dir", caches["first"], prog], fresh_first),
        ]
        times = {name: [] for name, _, _ in cases}
        rss = {name: [] for name, _, _ in cases}
        for r in range(a.runs + 1):  # round 0 is a warm-up
            k = r % len(cases)
            for name, argv, prepare in cases[k:] + cases[:k]:
                if prepare:
                    prepare()
                t, m, st, out = run(argv)
                if st != 0 or out != expected:
                    print(f"WRONG: {name} (n={size}) exit {st}", file=sys.stderr)
                    ok = False
                if r > 0:
                    times[name].append(t)
                    rss[name].append(m)
        warm = statistics.median(times["warm"])
        stored = {"uncached": "-", "warm": blobs(caches["warm"]), "warm, build --jit": blobs(caches["jit"]),
                  "first after build --jit": blobs(caches["jit0"])}
        for name, _, _ in cases:
            med = statistics.median(times[name])
            print(f"| {size:,} | {name} | {med * 1000:.2f} ms | {med / warm:.2f} | "
                  f"{statistics.median(rss[name]) / 1024:.1f} MiB | {stored[name]} |")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
