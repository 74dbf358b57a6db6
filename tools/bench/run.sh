#!/usr/bin/env bash
# Benchmarks: ribbon (interpreter and JIT) against Lua 5.4, LuaJIT and C (gcc -O2).
#
# usage: tools/bench/run.sh [--quick] [--runs N] [--only W1,W2] [RIBBON-BINARY]
#
# Without RIBBON-BINARY, builds `swift build -c release --static-swift-stdlib` in the repository
# root and uses .build/release/ribbon. For each workload (fibN, loop, sieve, mandelbrot) every
# engine is first run once and its stdout checked against tools/bench/NAME.out; engines that fail
# (non-zero exit) or print a wrong result are reported as
# "n/a" / "wrong" and left out of the timing. The rest are timed with their runs interleaved
# (tools/bench/alternate.py; --warmup 1 --runs N, median; --quick: --warmup 0 --runs 1). fib35 is the JIT-sized workload: the slow
# engines (ribbon interpreter, lua5.4) skip it; fib32 is the interpreter-sized one.
# The Markdown table goes to standard output (and tools/bench/out/results.md); the timer's own
# report goes to standard error. Build products and JSON go to tools/bench/out/ (git-ignored).
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$here/out"
runs=5
warmup=1
only=""
bin=""

while [ $# -gt 0 ]; do
    case "$1" in
        --quick) runs=1; warmup=0 ;;
        --runs) runs="$2"; shift ;;
        --only) only="$2"; shift ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) bin="$1" ;;
    esac
    shift
done


if [ -z "$bin" ]; then
    echo "run.sh: building ribbon (release)..." >&2
    (cd "$root" && swift build -c release --static-swift-stdlib) >&2 || { echo "run.sh: build failed" >&2; exit 1; }
    bin="$root/.build/release/ribbon"
fi
case "$bin" in /*) ;; *) bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" ;; esac
if [ ! -x "$bin" ]; then
    echo "run.sh: $bin is not an executable" >&2
    exit 1
fi

mkdir -p "$out/results"
rm -f "$out/results/"*.json "$out/results/"*.status

workloads="fib32 fib35 loop sieve mandelbrot"
[ -n "$only" ] && workloads="${only//,/ }"
engines="interp lua54 luajit jit c"
has() { command -v "$1" >/dev/null 2>&1; }
q() { printf '%q' "$1"; }

# command line of ENGINE for WORKLOAD, or empty when the engine is not available
engine_cmd() {
    local e="$1" w="$2"
    case "$e" in
        interp) echo "$(q "$bin") run --jit off --no-cache $(q "$here/$w.rib")" ;;
        jit) echo "$(q "$bin") run --jit eager --no-cache $(q "$here/$w.rib")" ;;
        lua54) has lua5.4 && echo "lua5.4 $(q "$here/$w.lua")" ;;
        luajit) has luajit && echo "luajit $(q "$here/$w.lua")" ;;
        c) [ -x "$out/$w" ] && echo "$(q "$out/$w")" ;;
    esac
}

for w in $workloads; do
    if [ ! -f "$here/$w.rib" ]; then echo "run.sh: no workload $w" >&2; exit 2; fi
    echo "== $w" >&2
    if has gcc; then
        gcc -O2 -o "$out/$w" "$here/$w.c" || echo "run.sh: gcc failed for $w.c" >&2
    fi
    status="$out/results/$w.status"
    : > "$status"
    args=()
    for e in $engines; do
        if [ "$w" = fib35 ] && { [ "$e" = interp ] || [ "$e" = lua54 ]; }; then
            printf '%s\tskip\n' "$e" >> "$status"; continue
        fi
        cmd="$(engine_cmd "$e" "$w")"
        if [ -z "$cmd" ]; then
            printf '%s\tmissing\n' "$e" >> "$status"; continue
        fi
        # Check once: exit status 0 and exactly the expected output.
        got="$(eval "timeout 600 $cmd" 2>"$out/results/$w.$e.stderr")"
        rc=$?
        if [ $rc -ne 0 ]; then
            echo "   $e: exit $rc ($(tail -c 200 "$out/results/$w.$e.stderr" | tr '\n' ' '))" >&2
            printf '%s\tfailed\n' "$e" >> "$status"; continue
        fi
        if [ "$got" != "$(cat "$here/$w.out")" ]; then
            echo "   $e: wrong output: $(printf '%s' "$got" | head -c 80)" >&2
            printf '%s\twrong\n' "$e" >> "$status"; continue
        fi
        printf '%s\tok\n' "$e" >> "$status"
        args+=(-n "$e" "$cmd")
    done
    if [ ${#args[@]} -gt 0 ]; then
        # Runs alternate between engines (alternate.py), so drift of the shared machine hits
        # every engine alike; the figure is the median.
        python3 "$here/alternate.py" --warmup "$warmup" --runs "$runs" \
            --export-json "$out/results/$w.json" "${args[@]}" >&2 \
            || echo "run.sh: timing failed for $w" >&2
    fi
done

python3 "$here/table.py" "$out/results" $workloads | tee "$out/results.md"
