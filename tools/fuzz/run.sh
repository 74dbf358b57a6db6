#!/usr/bin/env bash
# Runs one fuzz target under libFuzzer (coverage-guided), seeded from the examples.
#
# Usage: tools/fuzz/run.sh TARGET [--time SECONDS] [--jobs N] [LIBFUZZER_FLAGS...]
#        tools/fuzz/run.sh TARGET --mutations N [--seed S]
#   TARGET: frontend | image | blob | cache | bytecode | hitlog   (see Documentation/Reliability.md)
#   --time  total run time (default 60); --jobs  parallel fuzzing processes (default 1)
#   --mutations  instead of libFuzzer, N inputs of the deterministic harness (the smoke tests'
#                mutator, here optimized), from generator seed S (default 1); prints a report
# The corpus grows in tools/fuzz/corpus/TARGET/ (git-ignored); a crash, a broken property or a
# hang (an input over 10 s: every run is bounded, so this would be a bug) is saved as
# tools/fuzz/failures/TARGET/crash-… or timeout-…, and the script exits non-zero. Replay one
# with `tools/fuzz/.build/ribbon-fuzz FILE` (RIBBON_FUZZ_TARGET=TARGET).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="${1:?usage: tools/fuzz/run.sh TARGET [--time SECONDS] [--jobs N] [libFuzzer flags]}"
shift
seconds=60
jobs=1
mutations=""
seed=1
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
    --time) seconds="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --mutations) mutations="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    *) extra+=("$1"); shift ;;
    esac
done
case "$target" in frontend | image | blob | cache | bytecode | hitlog) ;; *) echo "unknown target $target" >&2; exit 64 ;; esac
"$root/tools/fuzz/build.sh" >&2
binary="$root/tools/fuzz/.build/ribbon-fuzz"
if [ -n "$mutations" ]; then
    RIBBON_FUZZ_TARGET="$target" RIBBON_ROOT="$root" RIBBON_FUZZ_MUTATIONS="$mutations" RIBBON_FUZZ_SEED="$seed" \
        exec "$binary" -runs=0
fi
corpus="$root/tools/fuzz/corpus/$target"
failures="$root/tools/fuzz/failures/$target"
mkdir -p "$corpus" "$failures"
export RIBBON_FUZZ_TARGET="$target" RIBBON_ROOT="$root" RIBBON_FUZZ_SEED_DIR="$corpus"
# libFuzzer's own crash handler saves the input; the Swift runtime's backtracer would take the
# signal first.
export SWIFT_BACKTRACE=enable=no
max_len=65536
[ "$target" = frontend ] && max_len=8192
[ "$target" = bytecode ] && max_len=2048
[ "$target" = hitlog ] && max_len=8192
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len="$max_len" -print_final_stats=1
    -artifact_prefix="$failures/")
if [ "$jobs" -gt 1 ]; then args+=(-jobs="$jobs" -workers="$jobs"); fi
cd "$failures"
exec "$binary" "${args[@]}" ${extra[@]+"${extra[@]}"} "$corpus"
