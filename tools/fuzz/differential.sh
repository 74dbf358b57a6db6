#!/usr/bin/env bash
# Differential fuzzing: random well-typed programs (tools/fuzz/gen_program.py) run with
# --jit off, --jit eager and --jit tier --jit-threshold 2 must give the same standard output,
# exit status and standard error. A program that fails to compile (status 1) is a generator
# bug and counts as a failure too.
#
# Usage: tools/fuzz/differential.sh [COUNT [START_SEED]]     (default 1000 programs from seed 1)
#   SIZE=N  program size passed to the generator (default 5)
# Failing programs are copied to tools/fuzz/failures/ (git-ignored) with the three results.
# The last line is `N passed, M failed`; the exit status is 1 when anything failed.
set -uo pipefail
count="${1:-1000}"
start="${2:-1}"
size="${SIZE:-5}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
bin="$root/.build/release/ribbon"
if [ ! -x "$bin" ] || [ -n "$(find "$root/Sources" "$root/Package.swift" -newer "$bin" -print -quit)" ]; then
    (cd "$root" && swift build -c release --static-swift-stdlib >&2) || exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/ribbon-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
failures="$root/tools/fuzz/failures"
passed=0
failed=0
batch=500
modes=("--jit off" "--jit eager" "--jit tier --jit-threshold 2")

for ((base = start; base < start + count; base += batch)); do
    n=$((start + count - base < batch ? start + count - base : batch))
    rm -rf "$work/programs"
    python3 "$root/tools/fuzz/gen_program.py" "$base" --count "$n" --size "$size" --out "$work/programs" || exit 2
    for ((seed = base; seed < base + n; seed++)); do
        program="$work/programs/fuzz_$seed.rib"
        problem=""
        for m in 0 1 2; do
            # shellcheck disable=SC2086  # the mode is several words on purpose
            timeout 60 "$bin" run "$program" ${modes[$m]} --no-cache >"$work/out$m" 2>"$work/err$m"
            echo $? >"$work/status$m"
        done
        if [ "$(cat "$work/status0")" = 1 ]; then
            problem="does not compile (generator bug)"
        elif [ "$(cat "$work/status0")" = 124 ]; then
            problem="timed out"
        fi
        for m in 1 2; do
            [ -n "$problem" ] && break
            for part in status out err; do
                if ! cmp -s "$work/${part}0" "$work/${part}$m"; then
                    problem="${modes[$m]} differs from ${modes[0]} in $part"
                    break
                fi
            done
        done
        if [ -z "$problem" ]; then
            passed=$((passed + 1))
            continue
        fi
        failed=$((failed + 1))
        mkdir -p "$failures"
        cp "$program" "$failures/"
        {
            echo "seed $seed: $problem"
            for m in 0 1 2; do
                echo "=== ${modes[$m]}: exit status $(cat "$work/status$m")"
                echo "--- stdout"; cat "$work/out$m"
                echo "--- stderr"; cat "$work/err$m"
            done
        } >"$failures/fuzz_$seed.txt"
        echo "FAIL seed $seed: $problem (tools/fuzz/failures/fuzz_$seed.rib)"
    done
    echo "... $((base + n - start)) of $count" >&2
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
