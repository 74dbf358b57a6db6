#!/usr/bin/env bash
# Programs of many files (issue 12, item 4): a program of 1,000 files used by one main.rib and a
# 2,000-deep `use` chain, each run uncached, cold and warm, timed in one interleaved session.
#
# usage: tools/bench/many_files.sh [--runs N] [--files N] [--depth N] [--before BIN] [RIBBON-BINARY]
#
# Without RIBBON-BINARY, builds `swift build -c release --static-swift-stdlib` (as warm.sh does) in
# the repository root and uses .build/release/ribbon. --before BIN times another build the same
# way, in the same session (e.g. one built from the commit before a change), as extra rows.
# Everything goes to tools/bench/out/many_files/ (git-ignored, emptied first); the Markdown report
# goes to standard output and out/many_files/results.md, progress to standard error.
#
# Steps: generate both programs (tools/gen_many_files.py; the fan's --files default 1000, the
# chain's --depth default 2000); check that uncached, cold and warm runs print the same output
# with exit 0 and no warning, and that --stats says what the cache did (cold: every unit
# compiled; warm: every unit loaded, none compiled); count the cold run's fdatasync and
# ftruncate calls with `strace -c -f` (if strace is there); then time, in rounds, each round
# running every case once in an order rotated from round to round (tools/bench/alternate.py's
# scheme; --runs, default 11):
#   uncached   ribbon run main.rib --no-cache
#   cold       ribbon run main.rib with RIBBON_CACHE_DIR a new empty directory (0700) per run,
#              made and removed outside the clock (so the run creates the database too)
#   cold, cache exists   the same, but the directory is a copy, made outside the clock, of a
#              cache that holds another program (examples/hello.rib): the program is new to it
#   warm       ribbon run main.rib with a cache primed by one run, then a second run after the
#              2 s in which a remembered source digest is not trusted yet (so every file's
#              digest is remembered, as in any later run)
# Each figure is the median over the runs: wall time, and CPU time (user + system of the child,
# from wait4), which a busy machine disturbs less. Ratios are to the uncached run of the same
# binary and program. The goals: cold within 2x of uncached, warm well under half of it.
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$here/out/many_files"
runs=11
files=1000
depth=2000
bin=""
before=""

while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift ;;
        --files) files="$2"; shift ;;
        --depth) depth="$2"; shift ;;
        --before) before="$2"; shift ;;
        -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "many_files.sh: unknown option $1" >&2; exit 2 ;;
        *) bin="$1" ;;
    esac
    shift
done

note() { echo "many_files.sh: $*" >&2; }
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")" ;; esac; }

if [ -z "$bin" ]; then
    note "building ribbon (release)..."
    (cd "$root" && swift build -c release --static-swift-stdlib) >&2 || { note "build failed"; exit 1; }
    bin="$root/.build/release/ribbon"
fi
bin="$(absolute "$bin")"
[ -x "$bin" ] || { note "$bin is not an executable"; exit 1; }
if [ -n "$before" ]; then
    before="$(absolute "$before")"
    [ -x "$before" ] || { note "$before is not an executable"; exit 1; }
fi

rm -rf "$out"
mkdir -p "$out/fresh"
chmod 0700 "$out/fresh"
python3 "$root/tools/gen_many_files.py" --shape fan --files "$files" -o "$out/fan" >/dev/null || exit 1
python3 "$root/tools/gen_many_files.py" --shape chain --files "$depth" -o "$out/chain" >/dev/null || exit 1
note "fan: $files files used by main.rib; chain: $depth files deep"

# binaries as "label path" lines; programs as "name path units"
binaries=("new $bin")
[ -n "$before" ] && binaries+=("before $before")
programs=("fan $out/fan/main.rib $((files + 1))" "chain $out/chain/main.rib $((depth + 1))")
failed=0

# check LABEL BIN PROGRAM PATH UNITS: outputs agree, --stats as expected; primes the warm cache
check() {
    local label="$1" b="$2" name="$3" main="$4" units="$5"
    local dir="$out/check-$label-$name" warm="$out/warm-$label-$name"
    mkdir -m 0700 -p "$dir" "$warm"
    local ref cold warm1 warm2
    ref="$("$b" run "$main" --no-cache 2>"$dir/uncached.err")" || { note "$label $name uncached: exit $?"; failed=1; }
    cold="$(RIBBON_CACHE_DIR="$warm" "$b" run "$main" --stats 2>"$dir/cold.err")" || { note "$label $name cold: exit $?"; failed=1; }
    sleep 2.1  # remembered digests are trusted 2 s after they were taken
    warm1="$(RIBBON_CACHE_DIR="$warm" "$b" run "$main" 2>"$dir/warm1.err")" || { note "$label $name warm: exit $?"; failed=1; }
    warm2="$(RIBBON_CACHE_DIR="$warm" "$b" run "$main" --stats 2>"$dir/warm.err")" || { note "$label $name warm: exit $?"; failed=1; }
    for got in "$cold" "$warm1" "$warm2"; do
        [ "$got" = "$ref" ] || { note "$label $name: output differs from the uncached run"; failed=1; }
    done
    if grep -h 'warning' "$dir"/*.err >&2; then note "$label $name: warnings (above)"; failed=1; fi
    grep -q "\"units_compiled\":$units," "$dir/cold.err" || { note "$label $name cold: not $units units compiled: $(tail -n 1 "$dir/cold.err" | cut -c1-160)"; failed=1; }
    grep -q "\"units_loaded\":$units," "$dir/warm.err" && grep -q '"units_compiled":0,' "$dir/warm.err" \
        || { note "$label $name warm: not $units units loaded: $(tail -n 1 "$dir/warm.err" | cut -c1-160)"; failed=1; }
    # The cold run's syncs and truncations (strace -c -f: every thread).
    if command -v strace >/dev/null 2>&1; then
        local c="$out/strace-$label-$name"
        mkdir -m 0700 -p "$c.cache"
        RIBBON_CACHE_DIR="$c.cache" strace -f -c -o "$c.txt" "$b" run "$main" >/dev/null 2>&1
        awk '$NF == "fdatasync" || $NF == "ftruncate" || $NF == "fsync" { print $NF, $4 }' "$c.txt" > "$c.counts"
    fi
}

for entry in "${binaries[@]}"; do
    set -- $entry
    label="$1" b="$2"
    # A cache that exists already, holding another program: copied for each "cold, cache exists" run.
    mkdir -m 0700 -p "$out/existing-$label"
    RIBBON_CACHE_DIR="$out/existing-$label" "$b" run "$root/examples/hello.rib" >/dev/null 2>&1 \
        || { note "$label: cannot prime $out/existing-$label"; failed=1; }
    for program in "${programs[@]}"; do
        set -- $program
        note "checking $label $1..."
        check "$label" "$b" "$1" "$2" "$3"
    done
done
[ "$failed" = 0 ] || note "CHECKS FAILED: the figures below are not trustworthy"

note "timing: $runs interleaved rounds..."
cases="$out/cases.txt"
: > "$cases"
for entry in "${binaries[@]}"; do
    set -- $entry
    label="$1" b="$2"
    for program in "${programs[@]}"; do
        set -- $program
        printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$1" uncached "$b" "$2" >> "$cases"
        printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$1" cold "$b" "$2" >> "$cases"
        printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$1" cold-existing "$b" "$2" >> "$cases"
        printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$1" warm "$b" "$2" >> "$cases"
    done
done

python3 - "$cases" "$runs" "$out" <<'EOF'
import json, os, shutil, statistics, sys, tempfile, time
cases_file, runs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cases = [line.rstrip("\n").split("\t") for line in open(cases_file)]
devnull = os.open(os.devnull, os.O_WRONLY)
actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]

def once(label, program, kind, binary, main):
    argv = [binary, "run", main] + (["--no-cache"] if kind == "uncached" else [])
    env = dict(os.environ)
    fresh = None
    if kind in ("cold", "cold-existing"):
        fresh = tempfile.mkdtemp(prefix="fresh-", dir=os.path.join(out, "fresh"))
        if kind == "cold-existing":
            template = os.path.join(out, "existing-" + label)
            for name in os.listdir(template):
                shutil.copy2(os.path.join(template, name), fresh)
        env["RIBBON_CACHE_DIR"] = fresh
    elif kind == "warm":
        env["RIBBON_CACHE_DIR"] = os.path.join(out, "warm-%s-%s" % (label, program))
    t0 = time.perf_counter()
    pid = os.posix_spawn(binary, argv, env, file_actions=actions)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if fresh:
        shutil.rmtree(fresh, ignore_errors=True)
    if os.waitstatus_to_exitcode(status) != 0:
        print("many_files.sh: %s %s %s: exit %d" % (label, program, kind, os.waitstatus_to_exitcode(status)), file=sys.stderr)
    return wall, ru.ru_utime + ru.ru_stime

for c in cases:  # one untimed round
    once(*c)
results = {tuple(c[:3]): ([], []) for c in cases}
for r in range(runs):
    k = r % len(cases)
    for c in cases[k:] + cases[:k]:
        wall, cpu = once(*c)
        results[tuple(c[:3])][0].append(wall)
        results[tuple(c[:3])][1].append(cpu)
summary = {"|".join(k): {"wall": v[0], "cpu": v[1], "wall_median": statistics.median(v[0]),
                         "cpu_median": statistics.median(v[1])} for k, v in results.items()}
json.dump(summary, open(os.path.join(out, "times.json"), "w"), indent=1)
EOF

python3 - "$out" "$runs" "$files" "$depth" "$bin" "$before" <<'EOF' | tee "$out/results.md"
import json, os, sys
out, runs, files, depth, new, before = sys.argv[1:7]
t = json.load(open(os.path.join(out, "times.json")))
def counts(label, program):
    path = os.path.join(out, "strace-%s-%s.counts" % (label, program))
    if not os.path.exists(path):
        return "n/a"
    c = dict(line.split() for line in open(path))
    return "%s / %s" % (c.get("fdatasync", "0"), c.get("ftruncate", "0"))
names = {"fan": "%s files used by one main" % f"{int(files):,}", "chain": "%s-deep `use` chain" % f"{int(depth):,}"}
labels = ["new"] + (["before"] if before else [])
print("Programs of many files, %s interleaved rounds (median; wall time, CPU time = user + system)." % runs)
print("Binary: `%s`%s." % (new, ("; before: `%s`" % before) if before else ""))
print()
print("| program | build | uncached | cold | cold, cache exists | warm | cold / uncached | cold, cache exists / uncached | warm / uncached | cold fdatasync / ftruncate |")
print("|---|---|---|---|---|---|---|---|---|---|")
for program in ["fan", "chain"]:
    for label in labels:
        m = {k: t["%s|%s|%s" % (label, program, k)] for k in ["uncached", "cold", "cold-existing", "warm"]}
        w = {k: m[k]["wall_median"] * 1000 for k in m}
        c = {k: m[k]["cpu_median"] * 1000 for k in m}
        cell = lambda k: "%.0f ms (CPU %.0f)" % (w[k], c[k])
        ratio = lambda k: "%.2fx (CPU %.2fx)" % (w[k] / w["uncached"], c[k] / c["uncached"])
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            names[program], label, cell("uncached"), cell("cold"), cell("cold-existing"), cell("warm"),
            ratio("cold"), ratio("cold-existing"), ratio("warm"), counts(label, program)))
EOF
[ "$failed" = 0 ] || { note "CHECKS FAILED (see above)"; exit 1; }
exit 0
