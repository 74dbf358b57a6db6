#!/usr/bin/env python3
"""Checks the layering rules of Documentation/Architecture.md against the tree.

usage: python3 tools/check_layers.py [--report]

1. Every module imports only what Package.swift declares for it (targets and products),
   plus the platform's own modules (Glibc, and for tests Foundation and Testing).
2. No module above RibbonCache declares or imports SQLiteSupport: the cache's callers see
   CacheError, never SQLite. RibbonFuzz is exempt: it is a test harness (tools/fuzz) whose
   targets damage databases on purpose, the way test targets do.
3. No `@_exported import` anywhere.
4. No Swift file under Sources/ is over 600 lines (generated `+Generated.swift` files aside),
   and no type has over 400 lines of code (blank and comment lines not counted) in one file.
5. Engine modules (everything in Sources/) import no Foundation (start-up time).
6. Access: outside the engine's leaf modules (PUBLIC_MODULES, public for cross-module
   optimization: Documentation/Architecture.md, "The rule"), `public` is only on what a library
   user would call (PUBLIC_API) and on `@inlinable` declarations; the rest is `package`.

Reads the package with `swift package dump-package`. Prints one line per violation and exits 1
if there is any; `--report` also prints the largest files and types.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLATFORM = {"Glibc", "Swift", "_Concurrency", "Synchronization"}
TEST_PLATFORM = PLATFORM | {"Foundation", "Testing", "XCTest"}
MAX_FILE_LINES = 600
MAX_TYPE_LINES = 400
# Rule 6: modules whose declarations stay public so that Swift's default cross-module
# optimization (which considers only public declarations) inlines them into their callers.
PUBLIC_MODULES = {"RibbonCore", "RibbonSyntax", "RibbonBytecode", "RibbonCompiler"}
# Rule 6: the API a library user would call: run a program, or the whole command line.
PUBLIC_API = {
    "Sources/RibbonDriver/RunOptions.swift": None,  # the whole file: JITMode and RunOptions
    "Sources/RibbonDriver/Driver.swift": ("public enum Driver", "public static func run(path: String, options: RunOptions)"),
    "Sources/RibbonCLI/RibbonCommand.swift": ("public struct RibbonCommand", "public static let configuration", "public init()"),
    "Sources/RibbonCLI/RunFastPath.swift": ("public static func mainFast()",),
}
PUBLIC = re.compile(r"(?<![\w\"`])public(?=\s)")
# A harness that damages databases on purpose (see rule 2).
SQLITE_EXEMPT = {"RibbonFuzz"}

IMPORT = re.compile(
    r"^\s*((?:@[A-Za-z_]+(?:\([^)]*\))?\s+)*)import\s+(?:(?:struct|class|enum|func|var|let|protocol|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)",
    re.M,
)
TYPE_START = re.compile(
    r"^(?:(?:public|package|internal|fileprivate|private|final|open|indirect|@[A-Za-z_]+(?:\([^)]*\))?)\s+)*"
    r"(struct|class|enum|actor|extension|protocol)\s+([A-Za-z_][A-Za-z0-9_.]*)"
)


def package():
    swift = "swift"
    if os.path.isdir("/opt/swift/usr/bin"):
        swift = "/opt/swift/usr/bin/swift"
    # The manifest alone, in a directory of its own: `swift package` locks the package's .build,
    # which `swift test` holds while this runs as a test. dump-package evaluates the manifest
    # without resolving dependencies or reading the sources.
    with tempfile.TemporaryDirectory() as scratch:
        shutil.copy(os.path.join(ROOT, "Package.swift"), scratch)
        out = subprocess.run([swift, "package", "dump-package"], cwd=scratch, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def dependency_names(target):
    names = []
    for dep in target["dependencies"]:
        kind, value = next(iter(dep.items()))
        names.append(value[0])
    return names


def target_dir(target):
    if target.get("path"):
        return os.path.join(ROOT, target["path"])
    return os.path.join(ROOT, "Tests" if target["type"] == "test" else "Sources", target["name"])


def swift_files(directory):
    for base, _, files in os.walk(directory):
        for name in sorted(files):
            if name.endswith(".swift"):
                yield os.path.join(base, name)


def code_lines(text):
    """The file's lines with comments and string contents blanked, for brace matching."""
    out, i, n = [], 0, len(text)
    buf = []
    depth_comment = 0
    while i < n:
        c = text[i]
        if depth_comment:
            if text.startswith("*/", i):
                depth_comment -= 1
                i += 2
                continue
            if text.startswith("/*", i):
                depth_comment += 1
                i += 2
                continue
            buf.append("\n" if c == "\n" else " ")
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            buf.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth_comment = 1
            i += 2
        elif text.startswith('"""', i):
            j = text.find('"""', i + 3)
            j = n if j < 0 else j + 3
            buf.append("".join("\n" if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            buf.append(" " * (min(j + 1, n) - i))
            i = j + 1
        else:
            buf.append(c)
            i += 1
    return "".join(buf).split("\n")


def type_sizes(path):
    """Lines of code (not blank, not comment) of each top-level type, summed per name in a file."""
    lines = code_lines(open(path, encoding="utf-8").read())
    sizes, depth, current = {}, 0, None
    for line in lines:
        stripped = line.strip()
        if depth == 0 and current is None:
            m = TYPE_START.match(stripped)
            if m:
                current = m.group(2).split(".")[0]
        if current is not None and stripped:
            sizes[current] = sizes.get(current, 0) + 1
        depth += line.count("{") - line.count("}")
        if depth == 0 and current is not None and "}" in line:
            current = None
    return sizes


def main():
    report = "--report" in sys.argv
    pkg = package()
    targets = {t["name"]: t for t in pkg["targets"]}
    names = set(targets)
    # Which targets sit above RibbonCache (depend on it, directly or not).
    def above_cache(name, seen=None):
        seen = seen or set()
        for dep in dependency_names(targets[name]):
            if dep == "RibbonCache" or (dep in targets and dep not in seen and above_cache(dep, seen | {dep})):
                return True
        return False

    problems = []
    largest = []
    for name, target in sorted(targets.items()):
        if target["type"] == "system":
            continue
        declared = set(dependency_names(target))
        is_test = target["type"] == "test"
        allowed = declared | (TEST_PLATFORM if is_test else PLATFORM)
        if not is_test and name not in SQLITE_EXEMPT and above_cache(name) and "SQLiteSupport" in declared:
            problems.append(f"{name}: declares SQLiteSupport but sits above RibbonCache (use CacheError)")
        for path in swift_files(target_dir(target)):
            rel = os.path.relpath(path, ROOT)
            text = open(path, encoding="utf-8").read()
            for m in IMPORT.finditer(text):
                attrs, module = m.group(1), m.group(2)
                if "@_exported" in attrs:
                    problems.append(f"{rel}: @_exported import {module}")
                if module not in allowed:
                    why = "is not declared for " + name if module in names or module == "ArgumentParser" else "is not a declared dependency"
                    if module == "Foundation" and not is_test:
                        why = "is Foundation, which engine modules do not use"
                    problems.append(f"{rel}: import {module} {why}")
            if is_test:
                continue
            if name not in PUBLIC_MODULES:
                allowed_public = PUBLIC_API.get(rel, ())
                lines = code_lines(text)
                raw = text.split("\n")
                for i, line in enumerate(lines):
                    if not PUBLIC.search(line) or allowed_public is None:
                        continue
                    if any(a in raw[i] for a in allowed_public):
                        continue
                    if "@inlinable" in line or (i > 0 and "@inlinable" in lines[i - 1]):
                        continue
                    problems.append(f"{rel}:{i + 1}: public outside the library API (use package): {raw[i].strip()}")
            count = text.count("\n")
            largest.append((count, rel))
            if count > MAX_FILE_LINES and not rel.endswith("+Generated.swift"):
                problems.append(f"{rel}: {count} lines (at most {MAX_FILE_LINES})")
            for type_name, size in type_sizes(path).items():
                if size > MAX_TYPE_LINES and not rel.endswith("+Generated.swift"):
                    problems.append(f"{rel}: type {type_name} has {size} lines of code here (at most {MAX_TYPE_LINES})")
    for p in problems:
        print(p)
    if report:
        for count, rel in sorted(largest, reverse=True)[:10]:
            print(f"  {count:5d} {rel}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
