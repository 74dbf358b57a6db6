#!/usr/bin/env bash
# Builds tools/fuzz/.build/ribbon-fuzz: the project's engine modules and RibbonFuzz compiled
# with libFuzzer's coverage instrumentation (`swiftc -sanitize=fuzzer`), linked with libFuzzer.
# No SwiftPM: one swiftc invocation per module, in dependency order, so the normal build is
# untouched. Rebuilds only when a source is newer than the binary.
#
# Usage: tools/fuzz/build.sh [--force]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
out="$root/tools/fuzz/.build"
binary="$out/ribbon-fuzz"
S="$root/Sources"
if [ "${1:-}" != "--force" ] && [ -x "$binary" ] &&
    [ -z "$(find "$S" "$root/tools/fuzz/libfuzzer" -newer "$binary" -print -quit)" ]; then
    exit 0
fi
mkdir -p "$out/modules"

# C targets: objects, and a module map for each (what SwiftPM generates for an include/ dir).
maps=()
for c in CRibbonABI CCPUID CRibbonSystem; do
    clang -O2 -fPIC -c "$S/$c/"*.c -I "$S/$c/include" -o "$out/$c.o"
    header="$(ls "$S/$c/include/"*.h | head -1)"
    printf 'module %s {\n    header "%s"\n    export *\n}\n' "$c" "$header" >"$out/$c.modulemap"
    maps+=(-Xcc "-fmodule-map-file=$out/$c.modulemap" -Xcc -I -Xcc "$S/$c/include")
done
for s in CCapstone CLZ4 CCrypto CSQLite; do maps+=(-Xcc "-fmodule-map-file=$S/$s/module.modulemap"); done

flags=(-O -wmo -parse-as-library -sanitize=fuzzer -package-name ribbon -swift-version 5 -I "$out/modules"
    -module-cache-path "$out/module-cache" -DSWIFT_PACKAGE "${maps[@]}")
objects=("$out/CRibbonABI.o" "$out/CCPUID.o" "$out/CRibbonSystem.o")
for m in RibbonCore RibbonSyntax RibbonBytecode RibbonCompiler RibbonVM X86Assembler X86Disassembler RibbonJIT \
    CacheCodecs SQLiteSupport RibbonCache RibbonDriver RibbonFuzz; do
    echo "fuzz build: $m" >&2
    swiftc "${flags[@]}" -module-name "$m" -emit-module -emit-module-path "$out/modules/$m.swiftmodule" \
        "$S/$m/"*.swift -c -o "$out/$m.o"
    objects+=("$out/$m.o")
done
echo "fuzz build: ribbon-fuzz" >&2
swiftc "${flags[@]}" -module-name RibbonFuzzMain "$root/tools/fuzz/libfuzzer/main.swift" "${objects[@]}" \
    -lsqlite3 -llz4 -lcrypto -ldl -o "$binary"
echo "$binary"
