#!/usr/bin/env bash
# Warm-start benchmark: a 5,000-function program run uncached, with a cold cache and with a warm
# cache, against LuaJIT running precompiled bytecode and CPython importing a cached .pyc.
#
# usage: tools/bench/warm.sh [--runs N] [--stats-runs N] [--perf-runs N] [RIBBON-BINARY]
#
# Without RIBBON-BINARY, builds `swift build -c release --static-swift-stdlib` in the repository
# root and uses .build/release/ribbon. Everything goes to tools/bench/out/warm/ (git-ignored,
# emptied first); the Markdown report goes to standard output and out/warm/results.md, progress
# and the timer's own lines to standard error. All runs are timed in ONE interleaved session
# (tools/bench/warm_timer.py: alternate.py's rotated rounds, --warmup 1 --runs N, default 15,
# median wall time of the whole process), because the shared machine drifts by up to 1.5x and
# only ratios within one session mean anything. The goals: warm / uncached <= 0.05 and
# warm / warm hello <= 1.5.
#
# Steps: generate the program (tools/gen_large_program.py --functions 5000, about 55,000
# lines, as .rib, .lua and .py); check that ribbon, lua5.4, luajit (source and bytecode) and
# python3.11 (source and .pyc) all print the same output (an engine that fails or differs is
# left out and shown as n/a / wrong; ribbon itself must be right); prime the caches; check
# ribbon's `--stats` `unit` ("off" uncached, "miss" cold, "hit" warm; a warm run that is not a
# hit gets a loud WARNING, in the report too); time; then a second, short interleaved session
# of the ribbon cases with `--stats` (--stats-runs, default 5) for the phase breakdown: the
# median of each `time_us` field, and of wall time minus the phases (start-up, exit, anything
# --stats does not cover); the stats are checked again. Last, `perf stat -r N -e
# task-clock,page-faults` (--perf-runs, default 30; skipped without perf, or with 0) of the
# warm, uncached and warm hello runs.
#
# How each case is run (no shell in the timed command; stdout and stderr to /dev/null):
#   ribbon uncached     ribbon run large.rib --no-cache
#   ribbon cold         RIBBON_CACHE_DIR=D ribbon run large.rib, D a new empty directory
#                       (mode 0700) per run, made and removed outside the clock
#   ribbon warm         RIBBON_CACHE_DIR=W ribbon run large.rib; W (mode 0700) was primed by
#                       one untimed run and already holds large.rib and hello.rib
#   ribbon hello        examples/hello.rib, with --no-cache and warm (the same W)
#   luajit -b           `luajit -b large.lua large.luac` once (bytecode, debug info stripped,
#                       as -b does by default), then `luajit large.luac`; hello.lua the same way
#   python .pyc         /usr/bin/python3.11 (Debian's, not the pyenv shim on PATH) running a
#                       one-line script `import large` next to large.py; __pycache__ is primed
#                       by one run with PYTHONDONTWRITEBYTECODE unset, and `python3.11 -v`
#                       must show the code object coming from the .pyc (otherwise n/a).
#                       Reference: a hello.py script (`print(...)`) run from source
#   lua5.4              `lua5.4 large.lua`, from source (reference only)
# The minor page faults and max RSS in the table are medians of the child's getrusage (an RSS
# shown as "<= X" is below the timer's own RSS, which Linux reports instead).
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$here/out/warm"
runs=15
warmup=1
stats_runs=5
perf_runs=30
bin=""
python=/usr/bin/python3.11

while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift ;;
        --perf-runs) perf_runs="$2"; shift ;;
        --stats-runs) stats_runs="$2"; shift ;;
        -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "warm.sh: unknown option $1" >&2; exit 2 ;;
        *) bin="$1" ;;
    esac
    shift
done

if [ -z "$bin" ]; then
    echo "warm.sh: building ribbon (release)..." >&2
    (cd "$root" && swift build -c release --static-swift-stdlib) >&2 || { echo "warm.sh: build failed" >&2; exit 1; }
    bin="$root/.build/release/ribbon"
fi
case "$bin" in /*) ;; *) bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" ;; esac
if [ ! -x "$bin" ]; then
    echo "warm.sh: $bin is not an executable" >&2
    exit 1
fi

has() { command -v "$1" >/dev/null 2>&1; }
q() { printf '%q' "$1"; }
note() { echo "warm.sh: $*" >&2; }
warnings="$out/warnings.txt"
warn() {
    printf '\n!!!!!!!! WARNING: %s\n\n' "$*" >&2
    printf '%s\n' "$*" >> "$warnings"
}

rm -rf "$out"
mkdir -p "$out/cache"
chmod 0700 "$out/cache"
: > "$warnings"
status="$out/status"      # lines: name<TAB>ok|failed|wrong|missing
: > "$status"

# ---------------------------------------------------------------- 1. the program
note "generating the program..."
python3 "$root/tools/gen_large_program.py" --functions 5000 -o "$out/large.rib" \
    --lua "$out/large.lua" --python "$out/large.py" || { note "gen_large_program.py failed"; exit 1; }
note "large.rib: $(wc -l < "$out/large.rib") lines"
cp "$root/examples/hello.rib" "$out/hello.rib"
echo 'print("hello, ribbon")' > "$out/hello.lua"
echo 'print("hello, ribbon")' > "$out/hello.py"
echo 'import large' > "$out/run_large.py"

rib="$out/large.rib"
hello="$out/hello.rib"
warm_dir="$out/cache/warm"
fresh_root="$out/cache/fresh"
mkdir -m 0700 "$warm_dir" "$fresh_root"

# ---------------------------------------------------------------- 2. correctness
# Ribbon's uncached output is the reference; every other engine must print exactly the same.
expected="$("$bin" run "$rib" --no-cache 2>"$out/uncached.stderr")"
rc=$?
if [ $rc -ne 0 ]; then
    note "ribbon run --no-cache large.rib: exit $rc: $(tail -c 300 "$out/uncached.stderr")"
    exit 1
fi
printf '%s\n' "$expected" > "$out/expected.out"
note "ribbon prints: $(printf '%s' "$expected" | tr '\n' ' ')"

# check NAME CMD...: runs CMD (stdout compared with ribbon's), records the status
check() {
    local name="$1"; shift
    local got rc
    got="$("$@" 2>"$out/$name.stderr")"
    rc=$?
    if [ $rc -ne 0 ]; then
        note "$name: exit $rc ($(tail -c 200 "$out/$name.stderr" | tr '\n' ' '))"
        printf '%s\tfailed\n' "$name" >> "$status"; return 1
    fi
    if [ "$got" != "$expected" ]; then
        note "$name: wrong output: $(printf '%s' "$got" | tr '\n' ' ' | head -c 120)"
        printf '%s\twrong\n' "$name" >> "$status"; return 1
    fi
    printf '%s\tok\n' "$name" >> "$status"
}
missing() { note "$1: $2 not found"; printf '%s\tmissing\n' "$1" >> "$status"; }

if has lua5.4; then check lua54 lua5.4 "$out/large.lua"; else missing lua54 lua5.4; fi
if has luajit; then
    check luajit-src luajit "$out/large.lua"
    if luajit -b "$out/large.lua" "$out/large.luac" && luajit -b "$out/hello.lua" "$out/hello.luac"; then
        check luajit-bc luajit "$out/large.luac"
        [ "$(luajit "$out/hello.luac")" = "hello, ribbon" ] || note "luajit hello.luac: wrong output"
        note "luajit -b: large.luac $(stat -c %s "$out/large.luac") bytes"
    else
        note "luajit -b failed"; printf 'luajit-bc\tfailed\n' >> "$status"
    fi
else
    missing luajit-bc luajit
fi
if [ -x "$python" ]; then
    check python-src "$python" "$out/large.py"
    # Prime __pycache__ (PYTHONDONTWRITEBYTECODE=1 is set globally: unset it for this run).
    (cd "$out" && env -u PYTHONDONTWRITEBYTECODE "$python" run_large.py >/dev/null)
    pyc="$(ls "$out/__pycache__/"large.*.pyc 2>/dev/null | head -n 1)"
    if [ -z "$pyc" ]; then
        note "python: no __pycache__/large.*.pyc after priming"
        printf 'python-pyc\tfailed\n' >> "$status"
    elif ! "$python" -v "$out/run_large.py" 2>&1 >/dev/null | grep -qF "code object from '$pyc'"; then
        note "python: python3.11 -v does not show large loaded from $pyc"
        printf 'python-pyc\tfailed\n' >> "$status"
    else
        check python-pyc "$python" "$out/run_large.py"
        note "python: $pyc is used ($(stat -c %s "$pyc") bytes)"
        # -X importtime: the import of `large` itself (self and cumulative microseconds)
        "$python" -X importtime "$out/run_large.py" 2>&1 >/dev/null | grep -E '\| large$' \
            > "$out/python-importtime.txt"
    fi
else
    missing python-pyc "$python"
fi

# ribbon with a cache: output must not change, and --stats must say what the cache did.
# stats_unit FILE: the "unit" field of the last --stats line in FILE
stats_line() { grep '^{"unit"' "$1" | tail -n 1; }
stats_unit() { stats_line "$1" | sed -n 's/^{"unit":"\([a-z]*\)".*/\1/p'; }
# ribbon_stats NAME EXPECTED-UNIT [VAR=VALUE...] -- ARGS...: one --stats run, checked
ribbon_stats() {
    local name="$1" want="$2"; shift 2
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    local got rc unit
    got="$(env "${envs[@]}" "$bin" run "$@" --stats 2>"$out/$name.stderr")"
    rc=$?
    if [ $rc -ne 0 ]; then
        warn "ribbon $name: exit $rc ($(tail -c 300 "$out/$name.stderr" | tr '\n' ' '))"
        return 1
    fi
    case "$name" in
        *hello*) [ "$got" = "hello, ribbon" ] || warn "ribbon $name: wrong output: $got" ;;
        *) [ "$got" = "$expected" ] || warn "ribbon $name: wrong output: $(printf '%s' "$got" | tr '\n' ' ')" ;;
    esac
    if grep -v '^{"unit"' "$out/$name.stderr" | grep -q .; then
        warn "ribbon $name wrote to stderr: $(grep -v '^{"unit"' "$out/$name.stderr" | head -n 3 | tr '\n' ' ')"
    fi
    unit="$(stats_unit "$out/$name.stderr")"
    if [ "$unit" != "$want" ]; then
        warn "ribbon $name: --stats says \"unit\":\"${unit:-?}\", expected \"$want\"$([ "$want" = hit ] && echo ' -- the warm figures below are NOT warm-cache figures')"
    fi
    stats_line "$out/$name.stderr" > "$out/$name.stats.json"
    return 0
}

note "priming the cache in $warm_dir..."
RIBBON_CACHE_DIR="$warm_dir" "$bin" run "$rib" >/dev/null 2>"$out/prime.stderr"
RIBBON_CACHE_DIR="$warm_dir" "$bin" run "$hello" >/dev/null 2>>"$out/prime.stderr"
[ -s "$out/prime.stderr" ] && warn "priming runs wrote to stderr: $(head -n 3 "$out/prime.stderr" | tr '\n' ' ')"
[ -e "$warm_dir/cache.sqlite" ] || warn "no $warm_dir/cache.sqlite after priming (is the cache wired into 'run'?)"
cold_check="$(mktemp -d "$fresh_root/check-XXXXXX")"
ribbon_stats check-uncached off -- "$rib" --no-cache
ribbon_stats check-cold miss RIBBON_CACHE_DIR="$cold_check" -- "$rib"
ribbon_stats check-warm hit RIBBON_CACHE_DIR="$warm_dir" -- "$rib"
ribbon_stats check-warm-hello hit RIBBON_CACHE_DIR="$warm_dir" -- "$hello"
rm -rf "$cold_check"

# ---------------------------------------------------------------- 3. timing, one session
ok() { grep -q "^$1	ok$" "$status"; }
args=(
    -n rib-uncached "$(q "$bin") run $(q "$rib") --no-cache"
    -n rib-cold "RIBBON_CACHE_DIR={fresh} $(q "$bin") run $(q "$rib")"
    -n rib-warm "RIBBON_CACHE_DIR=$(q "$warm_dir") $(q "$bin") run $(q "$rib")"
    -n hello-uncached "$(q "$bin") run $(q "$hello") --no-cache"
    -n hello-warm "RIBBON_CACHE_DIR=$(q "$warm_dir") $(q "$bin") run $(q "$hello")"
)
if ok luajit-bc; then
    args+=(-n luajit-bc "luajit $(q "$out/large.luac")" -n luajit-bc-hello "luajit $(q "$out/hello.luac")")
fi
if ok python-pyc; then
    args+=(-n python-pyc "$(q "$python") $(q "$out/run_large.py")" -n python-hello "$(q "$python") $(q "$out/hello.py")")
fi
ok lua54 && args+=(-n lua54 "lua5.4 $(q "$out/large.lua")")

note "timing: --warmup $warmup --runs $runs, interleaved..."
python3 "$here/warm_timer.py" --warmup "$warmup" --runs "$runs" --fresh-root "$fresh_root" \
    --export-json "$out/times.json" "${args[@]}" >&2 || { note "timing failed"; exit 1; }

# ---------------------------------------------------------------- 4. phases and page faults
note "phase breakdown: --stats, $stats_runs interleaved runs..."
python3 "$here/warm_timer.py" --warmup 0 --runs "$stats_runs" --fresh-root "$fresh_root" \
    --save-stderr "$out/stats" --export-json "$out/stats.json" \
    -n uncached "$(q "$bin") run $(q "$rib") --no-cache --stats" \
    -n cold "RIBBON_CACHE_DIR={fresh} $(q "$bin") run $(q "$rib") --stats" \
    -n warm "RIBBON_CACHE_DIR=$(q "$warm_dir") $(q "$bin") run $(q "$rib") --stats" \
    -n hello-warm "RIBBON_CACHE_DIR=$(q "$warm_dir") $(q "$bin") run $(q "$hello") --stats" \
    >&2 || { note "--stats runs failed"; exit 1; }
for pair in uncached:off cold:miss warm:hit hello-warm:hit; do
    name="${pair%%:*}" want="${pair#*:}"
    units="$(for f in "$out/stats/$name".*.stderr; do u="$(stats_unit "$f")"; echo "${u:-?}"; done | sort | uniq -c | awk '{printf "%s%s x%s", (NR>1?", ":""), $2, $1}')"
    [ "$units" = "$want x$stats_runs" ] \
        || warn "ribbon $name (--stats runs): \"unit\" was $units, expected $want$([ "$want" = hit ] && echo ' -- NOT warm-cache figures')"
    extra="$(cat "$out/stats/$name".*.stderr | grep -v '^{"unit"' | sort -u | head -n 3 | tr '\n' ' ')"
    [ -z "$extra" ] || warn "ribbon $name (--stats runs) wrote to stderr: $extra"
done

perf_ok=0
if has perf && [ "$perf_runs" -gt 0 ]; then
    note "perf stat -r $perf_runs..."
    perf_ok=1
    for case_ in warm uncached hello-warm; do
        case "$case_" in
            warm) cmd=("$bin" run "$rib") ;;
            uncached) cmd=("$bin" run "$rib" --no-cache) ;;
            hello-warm) cmd=("$bin" run "$hello") ;;
        esac
        RIBBON_CACHE_DIR="$warm_dir" perf stat -r "$perf_runs" -x, -e task-clock,page-faults \
            -o "$out/perf-$case_.csv" "${cmd[@]}" >/dev/null 2>"$out/perf-$case_.stderr" \
            || { note "perf stat failed for $case_: $(tail -c 200 "$out/perf-$case_.stderr")"; perf_ok=0; }
    done
else
    note "perf not available (or --perf-runs 0): no perf stat"
fi

# ---------------------------------------------------------------- 5. report
python3 "$here/warm_table.py" "$out" "$runs" "$perf_ok" "$bin" | tee "$out/results.md"
if [ -s "$warnings" ]; then
    printf '\n!!!!!!!! %d WARNING(S), see above and %s\n' "$(wc -l < "$warnings")" "$warnings" >&2
fi
exit 0
