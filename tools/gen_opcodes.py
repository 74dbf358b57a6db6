#!/usr/bin/env python3
"""The Ribbon ISA: the one table that defines every opcode.

Generates Sources/RibbonCore/Opcode+Generated.swift. Run it after editing the table:

    python3 tools/gen_opcodes.py            # write the Swift file
    python3 tools/gen_opcodes.py --check    # exit 1 if the file differs (the drift test runs this)

Opcode numbers are part of the cache format: never change or reuse one. They are dense (0, 1,
2, ...) so the interpreter's switch is exhaustive with no default, which lets the compiler give
every handler its own copy of the dispatch jump. Retire an opcode by renaming it `retired_N` in
place (the interpreter traps on it), never by deleting the row; add new ones at the end.

Operand formats (bytes of the 64-bit little-endian word after the 16-bit opcode):
  none    -
  r       a@2
  rr      d@2 a@3
  rrr     d@2 a@3 b@4
  rrrr    d@2 a@3 b@4 c@5
  ri32    d@2 imm32@4 (signed)
  rri32   d@2 a@3 imm32@4 (signed)
  rx64    d@2, the next word is a 64-bit immediate
  o32     offset32@4 (signed, in words, relative to this instruction)
  ro32    a@2 offset32@4
  rro32   a@2 b@3 offset32@4
  ri8o32  a@2 imm8@3 (signed) offset32@4
  rid     r@2 id32@4 (an AddressTable Id)
  call    d@2 base@3 id32@4 (arguments in base..., result to d)
"""
import os, sys

# (number, name, format, flags, summary). flags: "jit" = hint the interpreter runs as nop,
# "term" = ends a basic block (control never falls through), "internal" = only the VM itself
# creates it; the verifier rejects it in any unit.
OPCODES = [
    (0,  "nop",            "none",   "",     "do nothing"),
    (1,  "mov",            "rr",     "",     "d = a"),
    (2,  "const_i32",      "ri32",   "",     "d = sign-extended imm32"),
    (3,  "const64",        "rx64",   "",     "d = the next word"),
    # I64 arithmetic: + - * wrap; division and remainder trap on a zero divisor.
    (4,  "i_add64",        "rrr",    "",     "d = a + b (wrapping)"),
    (5,  "i_sub64",        "rrr",    "",     "d = a - b (wrapping)"),
    (6,  "i_mul64",        "rrr",    "",     "d = a * b (wrapping)"),
    (7,  "s_div64",        "rrr",    "",     "d = a / b truncated; b == 0 traps; MIN / -1 = MIN"),
    (8,  "s_rem64",        "rrr",    "",     "d = a % b, sign of a; b == 0 traps; MIN % -1 = 0"),
    (9,  "i_and64",        "rrr",    "",     "d = a & b"),
    (10, "i_or64",         "rrr",    "",     "d = a | b"),
    (11, "i_xor64",        "rrr",    "",     "d = a ^ b"),
    (12, "i_shl64",        "rrr",    "",     "d = a << (b mod 64)"),
    (13, "s_shr64",        "rrr",    "",     "d = a >> (b mod 64), arithmetic"),
    (14, "i_neg64",        "rr",     "",     "d = -a (wrapping)"),
    (15, "i_abs64",        "rr",     "",     "d = |a| (wrapping: |MIN| = MIN)"),
    (16, "i_add64_imm",    "rri32",  "",     "d = a + imm32 (wrapping)"),
    (17, "i_mul64_imm",    "rri32",  "",     "d = a * imm32 (wrapping)"),
    # F64 arithmetic (IEEE 754, never traps).
    (18, "f_add64",        "rrr",    "",     "d = a + b"),
    (19, "f_sub64",        "rrr",    "",     "d = a - b"),
    (20, "f_mul64",        "rrr",    "",     "d = a * b"),
    (21, "f_div64",        "rrr",    "",     "d = a / b"),
    (22, "f_neg64",        "rr",     "",     "d = -a"),
    (23, "f_sqrt64",       "rr",     "",     "d = sqrt(a)"),
    (24, "f_floor64",      "rr",     "",     "d = floor(a)"),
    (25, "f_abs64",        "rr",     "",     "d = |a|"),
    # Conversions.
    (26, "s_to_f64",       "rr",     "",     "d = F64(a)"),
    (27, "f_to_s64",       "rr",     "",     "d = I64(a) truncated; NaN or out of range traps"),
    # Comparisons giving a Bool (0 or 1). > and >= are < and <= with the operands swapped.
    (28, "i_eq64",         "rrr",    "",     "d = a == b"),
    (29, "i_ne64",         "rrr",    "",     "d = a != b"),
    (30, "s_lt64",         "rrr",    "",     "d = a < b (signed)"),
    (31, "s_le64",         "rrr",    "",     "d = a <= b (signed)"),
    (32, "f_eq64",         "rrr",    "",     "d = a == b"),
    (33, "f_ne64",         "rrr",    "",     "d = a != b (true when either is NaN)"),
    (34, "f_lt64",         "rrr",    "",     "d = a < b"),
    (35, "f_le64",         "rrr",    "",     "d = a <= b"),
    (36, "b_not",          "rr",     "",     "d = !a (a is 0 or 1)"),
    # Control flow. Offsets count words from the branch instruction itself.
    (37, "br",             "o32",    "term", "jump"),
    (38, "br_if",          "ro32",   "",     "jump if a != 0"),
    (39, "br_ifnot",       "ro32",   "",     "jump if a == 0"),
    (40, "br_i_eq64",      "rro32",  "",     "jump if a == b"),
    (41, "br_i_ne64",      "rro32",  "",     "jump if a != b"),
    (42, "br_s_lt64",      "rro32",  "",     "jump if a < b (signed)"),
    (43, "br_s_le64",      "rro32",  "",     "jump if a <= b (signed)"),
    (44, "br_i_eq64_imm",  "ri8o32", "",     "jump if a == imm8"),
    (45, "br_i_ne64_imm",  "ri8o32", "",     "jump if a != imm8"),
    (46, "br_s_lt64_imm",  "ri8o32", "",     "jump if a < imm8"),
    (47, "br_s_le64_imm",  "ri8o32", "",     "jump if a <= imm8"),
    (48, "br_s_gt64_imm",  "ri8o32", "",     "jump if a > imm8"),
    (49, "br_s_ge64_imm",  "ri8o32", "",     "jump if a >= imm8"),
    (50, "br_f_lt64",      "rro32",  "",     "jump if a < b"),
    (51, "br_f_le64",      "rro32",  "",     "jump if a <= b"),
    (52, "br_f_nlt64",     "rro32",  "",     "jump if !(a < b) (also when either is NaN)"),
    (53, "br_f_nle64",     "rro32",  "",     "jump if !(a <= b) (also when either is NaN)"),
    (54, "br_f_eq64",      "rro32",  "",     "jump if a == b"),
    (55, "br_f_ne64",      "rro32",  "",     "jump if a != b (also when either is NaN)"),
    # Calls. A callee's frame starts at the caller's register `base`: its arguments are r0...
    (56, "call",           "call",   "",     "call function Id with arguments in base..., result to d"),
    (57, "call_c",         "call",   "",     "call foreign Id through its System V glue, result to d"),
    (58, "ret",            "r",      "term", "return a"),
    (59, "ret_unit",       "none",   "term", "return from a Unit function"),
    # Globals and constants live behind AddressTable entries.
    (60, "global_get",     "rid",    "",     "d = *table[id]"),
    (61, "global_set",     "rid",    "",     "*table[id] = a"),
    (62, "const_addr",     "rid",    "",     "d = table[id] (address of constant data)"),
    # Arrays: a pointer to an I64 length followed by the elements. Indexing is bounds-checked.
    (63,  "array_len",     "rr",     "",     "d = length of array a"),
    (64,  "array_load64",  "rrr",    "",     "d = a[b]"),
    (65,  "array_store64", "rrr",    "",     "d[a] = b (d is the array register)"),
    (66,  "array_load8",   "rrr",    "",     "d = a[b] (byte elements: Array Bool)"),
    (67,  "array_store8",  "rrr",    "",     "d[a] = b (byte elements: Array Bool)"),
    # JIT-only hints: the interpreter runs each as nop.
    (68,  "jit_loop_header", "none", "jit",  "a loop starts at the next instruction (back-edges target it)"),
    (69,  "jit_cold",        "none", "jit",  "the code from here to the next terminator is rarely run"),
    # VM-internal: built by the interpreter in its own memory, never valid in a unit.
    (70,  "osr_enter",       "rx64", "internal term", "run the rest of this frame in machine code entered at the next word's address"),
    # F64 multiply-then-add/subtract in one dispatch; two roundings, exactly as separate
    # f_mul64 and f_add64/f_sub64 (not a fused FMA).
    (71,  "f_mul_add64",     "rrrr", "",     "d = a * b + c"),
    (72,  "f_mul_sub64",     "rrrr", "",     "d = a * b - c"),
    # VM-internal: the first word of a function whose code a lazily loaded unit has not placed
    # yet (LoadedUnit.placeCode); the interpreter places it and runs the same word again.
    (73,  "load_code",       "none", "internal term", "place the function the caller called (checked, verified), then run it in this frame"),
]

FORMATS = ["none", "r", "rr", "rrr", "rrrr", "ri32", "rri32", "rx64", "o32", "ro32", "rro32", "ri8o32", "rid", "call"]


def camel(name):
    parts = name.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def generate():
    numbers = [n for n, *_ in OPCODES]
    names = [name for _, name, *_ in OPCODES]
    assert len(set(numbers)) == len(numbers), "duplicate opcode number"
    assert len(set(names)) == len(names), "duplicate opcode name"
    assert numbers == sorted(numbers), "keep the table sorted by number"
    for _, name, fmt, flags, _ in OPCODES:
        assert fmt in FORMATS, name
        assert set(flags.split()) <= {"jit", "term", "internal"}, name
    by_number = {row[0]: row for row in OPCODES}
    top = max(numbers)
    out = []
    w = out.append
    w("// GENERATED by tools/gen_opcodes.py from its OPCODES table. Do not edit by hand:")
    w("// edit the table and run `python3 tools/gen_opcodes.py` (a test checks for drift).")
    w("")
    w("/// Every Ribbon opcode. The raw value is the number stored in the low 16 bits of an")
    w("/// instruction word; numbers never change. They are dense, so the case index equals the")
    w("/// number (the interpreter reinterprets a verified word's low byte as an `Opcode`).")
    w("public enum Opcode: UInt16, CaseIterable, Sendable {")
    assert numbers == list(range(len(numbers))), "opcode numbers must be dense: 0, 1, 2, ..."
    limit = len(numbers)
    for n, name, fmt, flags, summary in OPCODES:
        w(f"    /// `{name}` ({fmt}): {summary}.")
        w(f"    case {camel(name)} = {n}")
    w("}")
    w("")
    w("extension Opcode {")
    w(f"    /// One past the highest opcode number.")
    w(f"    public static let numberLimit: UInt16 = {limit}")
    w("")
    w("    /// The name written by the disassembler.")
    w("    public var name: String {")
    w("        switch self {")
    for _, name, *_ in OPCODES:
        w(f"        case .{camel(name)}: \"{name}\"")
    w("        }")
    w("    }")
    w("")
    w("    /// How the operands are packed into the word (see `OperandFormat`).")
    w("    public var format: OperandFormat {")
    w("        switch self {")
    for fmt in FORMATS:
        members = [camel(name) for _, name, f, *_ in OPCODES if f == fmt]
        if members:
            w("        case " + ", ".join("." + m for m in members) + f": .{fmt}")
    w("        }")
    w("    }")
    w("")
    w("    /// A JIT-only hint: the interpreter executes it as `nop`.")
    w("    public var isJITHint: Bool {")
    jit = [camel(name) for _, name, _, flags, _ in OPCODES if "jit" in flags.split()]
    w("        switch self {")
    w("        case " + ", ".join("." + m for m in jit) + ": true")
    w("        default: false")
    w("        }")
    w("    }")
    w("")
    w("    /// Created only by the VM itself; never valid in a unit (the verifier rejects it).")
    w("    public var isInternal: Bool {")
    internal = [camel(name) for _, name, _, flags, _ in OPCODES if "internal" in flags.split()]
    w("        switch self {")
    w("        case " + ", ".join("." + m for m in internal) + ": true")
    w("        default: false")
    w("        }")
    w("    }")
    w("")
    w("    /// Ends a basic block: control never falls through to the next word.")
    w("    public var isTerminator: Bool {")
    term = [camel(name) for _, name, _, flags, _ in OPCODES if "term" in flags.split()]
    w("        switch self {")
    w("        case " + ", ".join("." + m for m in term) + ": true")
    w("        default: false")
    w("        }")
    w("    }")
    w("}")
    w("")
    return "\n".join(out)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = os.path.join(root, "Sources", "RibbonCore", "Opcode+Generated.swift")
    text = generate()
    if "--check" in sys.argv:
        current = open(target, encoding="utf-8").read() if os.path.exists(target) else ""
        if current != text:
            print("Opcode+Generated.swift differs from tools/gen_opcodes.py: run it", file=sys.stderr)
            sys.exit(1)
        print("Opcode+Generated.swift is up to date")
        return
    with open(target, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
