#!/usr/bin/env python3
"""Random, well-typed Ribbon Core programs for differential testing (interpreter vs JIT).

    gen_program.py SEED [--size N]              prints one program
    gen_program.py SEED --count N --out DIR     writes DIR/fuzz_SEED.rib .. fuzz_(SEED+N-1).rib

The same seed and size always give the same program. Every program type-checks (a program
that `ribbon run` rejects with exit status 1 is a bug in this generator) and terminates
quickly:
  - every loop has a counter with a fixed maximum, incremented first thing in its body, so
    `continue` cannot skip it;
  - functions come in three tiers: `top` functions call any function after them, `rec`
    functions take a depth `d` and call each other (themselves included) only with `d - 1`
    or `d - 2`, returning at once when `d <= 0`; `leaf` functions call only later leaves;
  - every function (but main and the deliberately deep one) spends one unit of the global
    `fuel` per call and returns a default once it is spent, which bounds the total number of
    calls whatever the branching.
Runtime errors (division by zero, index out of range, negative array length, `int` of NaN or
out-of-range values, stack overflow) are produced on purpose at a per-program rate, `risk`;
a third of the programs have risk 0 and, apart from those constructs, run to the end.
"""
import argparse
import os
import random
import sys

NUM = ("I64", "F64")
ELEM = ("I64", "F64", "Bool")
ARRAYS = tuple("Array " + t for t in ELEM)

I64_MIN = "-9_223_372_036_854_775_808"
I64_MAX = "0x7FFF_FFFF_FFFF_FFFF"

F64_LITERALS = [
    "0.0", "-0.0", "1.0", "-1.0", "0.5", "2.5", "0.1", "3.0", "100.0", "1e9", "1e-05",
    "1e20", "-1e20", "1e300", "1e-300", "2.0e-3", "1_000.5", "123456789.0", "9.5e18",
    "-9.5e18", "9_223_372_036_854_775_807.0", "1e308", "4.9e-324", "0.3", "7.25",
]

SAFE_F64 = ["0.0", "-0.0", "1.5", "(-2.5)", "1e9", "9.2e18", "(-9.2e18)", "0.999"]  # `int` accepts these

STRINGS = ['"a"', '"hello"', '" "', '"x=\\t"', '"\\\\"', '"q\\"q"', '"\\x41\\x42"', '""', '"end\\n"']


class Var:
    def __init__(self, name, type_, assignable=True, minlen=0):
        self.name = name
        self.type = type_
        self.assignable = assignable
        self.minlen = minlen  # arrays: a length every value of this variable has at least


class Func:
    def __init__(self, name, kind, index, params, ret):
        self.name = name
        self.kind = kind  # "top", "rec", "leaf", "main"
        self.index = index
        self.params = params  # [(name, type)], rec functions start with ("d", "I64")
        self.ret = ret


def default_value(t):
    return {"I64": "0", "F64": "0.0", "Bool": "false", "Str": '"?"', "Unit": ""}.get(t) or \
        "array 8 " + default_value(t[6:])


class Gen:
    def __init__(self, seed, size):
        self.r = random.Random(seed)
        self.size = size
        r = self.r
        self.risk = r.choice([0.0, 0.0, 0.005, 0.01, 0.02, 0.04, 0.08])
        self.fuel = r.choice([50, 200, 400, 800])
        self.names = 0
        self.lines = []
        self.scopes = []
        self.func = None
        self.loop_depth = 0

    # ---------------------------------------------------------------- helpers
    def fresh(self, prefix):
        self.names += 1
        return "%s%d" % (prefix, self.names)

    def chance(self, p):
        return self.r.random() < p

    def risky(self, factor=1.0):
        return self.r.random() < self.risk * factor

    def visible(self, pred):
        seen = {}
        for scope in self.scopes:
            for v in scope:
                seen[v.name] = v
        return [v for v in seen.values() if pred(v)]

    def declare(self, v):
        self.scopes[-1].append(v)

    @staticmethod
    def wrap(e):
        text, atomic = e
        return text if atomic else "(" + text + ")"

    # ---------------------------------------------------------------- literals
    def lit_i64(self):
        r = self.r
        k = r.random()
        if k < 0.6:
            v = r.randint(-5, 20)
        elif k < 0.7:
            return (r.choice([I64_MIN, I64_MAX, "-9_223_372_036_854_775_807 - 1"]), False)
        elif k < 0.8:
            v = r.choice([-1, 0, 1, 2, 63, 64, 65, -64, 255, 1 << 32, (1 << 62) + 7, 1_000_000_007])
        elif k < 0.9:
            v = r.randint(-(1 << 63) + 1, (1 << 63) - 1)
        else:
            return ("0x%X" % r.randint(0, 0xFFFF_FFFF), True)
        return (str(v), True) if v >= 0 else (str(v), False)

    def lit_f64(self):
        t = self.r.choice(F64_LITERALS) if self.chance(0.5) else "%d.%d" % (
            self.r.randint(0, 50), self.r.randint(0, 99))
        return (t, not t.startswith("-"))

    # ---------------------------------------------------------------- expressions
    def expr(self, t, depth):
        if t == "I64":
            return self.e_i64(depth)
        if t == "F64":
            return self.e_f64(depth)
        if t == "Bool":
            return self.e_bool(depth)
        if t == "Str":
            return self.pick([(2, lambda: (self.r.choice(STRINGS), True)), (2, lambda: self.e_var("Str")),
                              (1, lambda: self.e_call("Str", depth - 1) if depth > 0 else None)])
        return self.e_array(t, depth)

    def var_of(self, t):
        vs = self.visible(lambda v: v.type == t)
        return self.r.choice(vs) if vs else None

    def arrays_of(self, elem, minlen=1):
        return self.visible(lambda v: v.type == "Array " + elem and v.minlen >= minlen)

    def pick(self, options):
        """options: [(weight, thunk)]; thunks may return None when not applicable."""
        total = sum(w for w, _ in options)
        while True:
            x = self.r.random() * total
            for w, f in options:
                x -= w
                if x < 0:
                    e = f()
                    if e is not None:
                        return e
                    break

    def e_var(self, t):
        v = self.var_of(t)
        return (v.name, True) if v else None

    def e_index(self, elem, depth):
        arrays = self.arrays_of(elem, 0)
        if not arrays:
            return None
        a = self.r.choice(arrays)
        return ("%s[%s]" % (a.name, self.index_expr(a, depth)), True)

    def index_expr(self, a, depth):
        r = self.r
        if a.minlen >= 8 and not self.risky(2):
            k = r.random()
            if k < 0.4:
                return str(r.randint(0, a.minlen - 1))
            if k < 0.6:
                ctr = self.visible(lambda v: v.name.startswith("i") and v.type == "I64")
                if ctr:
                    return "band %s 7" % r.choice(ctr).name
            return "band %s 7" % self.wrap(self.e_i64(depth - 1))
        k = r.random()
        if k < 0.3:
            return "len %s" % a.name
        if k < 0.4:
            return "-1"
        if k < 0.5 and a.minlen > 0:
            return str(r.randint(0, a.minlen - 1))
        return self.e_i64(depth - 1)[0]

    def divisor(self, depth):
        r = self.r
        if self.risky(3):
            return self.wrap(self.e_i64(depth - 1))
        k = r.random()
        if k < 0.25:
            return "bor %s 1" % self.wrap(self.e_i64(depth - 1))
        if k < 0.4:
            return r.choice(["(-1)", "1", "2", "7", "(-3)", "10", "0x10", "(" + I64_MIN + ")", I64_MAX])
        e = self.wrap(self.e_i64(depth - 1))
        return "(if %s == 0. %d else. %s)" % (e, r.randint(1, 9), e) if "(" not in e else \
            "(bor (shl %s 1) 1)" % e

    def e_i64(self, depth):
        r = self.r
        if depth <= 0:
            return self.pick([(3, self.lit_i64), (5, lambda: self.e_var("I64"))])
        d = depth - 1

        def binop():
            op = r.choice(["+", "-", "*", "+", "-", "*", "/", "%"])
            a = self.wrap(self.e_i64(d))
            b = self.divisor(depth) if op in "/%" else self.wrap(self.e_i64(d))
            return ("%s %s %s" % (a, op, b), False)

        def builtin():
            k = r.random()
            if k < 0.2:
                return ("abs %s" % self.wrap(self.e_i64(d)), False)
            name = r.choice(["band", "bor", "bxor", "shl", "shr"])
            return ("%s %s %s" % (name, self.wrap(self.e_i64(d)), self.wrap(self.e_i64(d))), False)

        def length():
            arrays = self.visible(lambda v: v.type in ARRAYS)
            return ("len %s" % r.choice(arrays).name, False) if arrays else None

        def to_int():
            f = self.wrap(self.e_f64(d))
            if self.risky(2):
                return ("int %s" % f, False)
            if r.random() < 0.5:
                return ("int (if abs %s < 1e18. %s else. %s)" % (f, f, r.choice(SAFE_F64)), False) \
                    if len(f) < 60 else ("int (floor (sqrt (abs 2.5)))", False)
            return ("int (float %s / 3.0)" % self.wrap(self.e_i64(d)), False)

        return self.pick([
            (3, self.lit_i64), (6, lambda: self.e_var("I64")), (6, binop),
            (1, lambda: ("-%s" % self.wrap(self.e_i64(d)), False)),
            (2, lambda: self.e_call("I64", d)), (2, builtin), (1, length), (1, to_int),
            (2, lambda: self.e_index("I64", d)), (1, lambda: self.e_if("I64", d)),
        ])

    def e_f64(self, depth):
        r = self.r
        if depth <= 0:
            return self.pick([(3, self.lit_f64), (5, lambda: self.e_var("F64"))])
        d = depth - 1

        def binop():
            op = r.choice(["+", "-", "*", "/"])
            return ("%s %s %s" % (self.wrap(self.e_f64(d)), op, self.wrap(self.e_f64(d))), False)

        def builtin():
            name = r.choice(["sqrt", "floor", "abs", "float"])
            arg = self.e_i64(d) if name == "float" else self.e_f64(d)
            return ("%s %s" % (name, self.wrap(arg)), False)

        return self.pick([
            (3, self.lit_f64), (6, lambda: self.e_var("F64")), (6, binop),
            (1, lambda: ("-%s" % self.wrap(self.e_f64(d)), False)),
            (2, lambda: self.e_call("F64", d)), (3, builtin),
            (2, lambda: self.e_index("F64", d)), (1, lambda: self.e_if("F64", d)),
        ])

    def e_bool(self, depth):
        r = self.r
        if depth <= 0:
            return self.pick([(1, lambda: (r.choice(["true", "false"]), True)),
                              (3, lambda: self.e_var("Bool"))])
        d = depth - 1

        def compare():
            t = r.choice(["I64", "I64", "F64", "Bool"])
            ops = ["==", "!="] if t == "Bool" else ["==", "!=", "<", "<=", ">", ">="]
            return ("%s %s %s" % (self.wrap(self.expr(t, d)), r.choice(ops), self.wrap(self.expr(t, d))), False)

        def logic():
            op = r.choice(["and", "or"])
            return ("%s %s %s" % (self.wrap(self.e_bool(d)), op, self.wrap(self.e_bool(d))), False)

        return self.pick([
            (1, lambda: (r.choice(["true", "false"]), True)), (3, lambda: self.e_var("Bool")),
            (6, compare), (3, logic), (2, lambda: ("not %s" % self.wrap(self.e_bool(d)), False)),
            (1, lambda: self.e_call("Bool", d)), (1, lambda: self.e_index("Bool", d)),
            (1, lambda: self.e_if("Bool", d)),
        ])

    def e_array(self, t, depth, minlen=8):
        """An array expression whose length is at least minlen (8 for anything passed around)."""
        r = self.r
        vs = self.visible(lambda v: v.type == t and v.minlen >= minlen)
        if vs and r.random() < 0.6:
            return (r.choice(vs).name, True)
        if depth > 0 and r.random() < 0.2:
            c = self.e_call(t, depth - 1)
            if c is not None:
                return c
        return ("array %d %s" % (r.randint(max(minlen, 8), 12), self.wrap(self.expr(t[6:], min(depth, 1)))), False)

    def e_if(self, t, depth):
        c = self.e_bool(depth)[0]
        a = self.expr(t, depth)[0]
        b = self.expr(t, depth)[0]
        if self.chance(0.3):
            c2 = self.e_bool(depth)[0]
            m = self.expr(t, depth)[0]
            return ("(if %s. %s else if %s. %s else. %s)" % (c, a, c2, m, b), True)
        return ("(if %s. %s else. %s)" % (c, a, b), True)

    def callees(self, ret):
        f = self.func
        out = []
        for g in self.funcs:
            if g.ret != ret:
                continue
            if f.kind == "main":
                ok = True
            elif f.kind == "top":
                ok = g.index > f.index
            elif f.kind == "rec":
                ok = g.kind in ("rec", "leaf")
            else:
                ok = g.kind == "leaf" and g.index > f.index
            if ok:
                out.append(g)
        return out

    def args(self, g, depth):
        out = []
        for i, (_, t) in enumerate(g.params):
            if i == 0 and g.kind == "rec":
                if self.func.kind == "rec":
                    out.append(self.r.choice(["(d - 1)", "(d - 1)", "(d - 2)"]))
                else:
                    out.append(str(self.r.randint(0, 6)))
            elif t in ARRAYS:
                out.append(self.wrap(self.e_array(t, depth)))
            else:
                out.append(self.wrap(self.expr(t, depth)))
        return out

    def e_call(self, ret, depth):
        gs = self.callees(ret)
        if not gs:
            return None
        g = self.r.choice(gs)
        a = self.args(g, depth)
        return ("%s %s" % (g.name, " ".join(a) if a else "()"), False)

    # ---------------------------------------------------------------- statements
    def emit(self, indent, text):
        self.lines.append("    " * indent + text)

    def block(self, indent, count, ret=None):
        """count statements in a new scope; with ret, the block ends in a value of that type."""
        self.scopes.append([])
        for _ in range(count):
            self.statement(indent)
        if ret is not None:
            self.emit(indent, self.expr(ret, 3)[0])
        self.scopes.pop()

    def statement(self, indent):
        r = self.r
        nest = indent - 1
        can_nest = nest < 3
        options = [
            (5, self.s_declare), (4, self.s_assign), (4, self.s_print),
            (2, self.s_array_store), (2, self.s_call),
        ]
        if can_nest:
            options += [(3, self.s_if), (2, self.s_while if self.loop_depth < 2 else self.s_if)]
        if self.loop_depth > 0:
            options += [(1, self.s_break)]
        options += [(0.5, self.s_return)]
        self.pick([(w, lambda f=f: f(indent) or True) for w, f in options])

    def s_declare(self, indent):
        r = self.r
        t = r.choice(["I64", "I64", "I64", "F64", "F64", "Bool", "Bool"] + list(ARRAYS) + ["Str"])
        if t in ARRAYS:
            name = self.fresh("a")
            elem = t[6:]
            k = r.random()
            if self.risky(2):
                n, minlen = "(%s %% 20)" % self.wrap(self.e_i64(2)), 0
            elif k < 0.7:
                n = r.randint(8, 16)
                n, minlen = str(n), n
            else:
                n, minlen = "(8 + (band %s 7))" % self.wrap(self.e_i64(2)), 8
            self.emit(indent, "%s := array %s %s" % (name, n, self.wrap(self.expr(elem, 1))))
            self.declare(Var(name, t, True, minlen))
            return
        name = self.fresh({"I64": "n", "F64": "x", "Bool": "b", "Str": "s"}[t])
        if r.random() < 0.15:
            self.emit(indent, "%s := if %s. %s else. %s" % (
                name, self.e_bool(2)[0], self.expr(t, 2)[0], self.expr(t, 2)[0]))
        elif r.random() < 0.07:
            self.emit(indent, "%s := if %s." % (name, self.e_bool(2)[0]))
            self.block(indent + 1, r.randint(0, 2), t)
            self.emit(indent, "else.")
            self.block(indent + 1, r.randint(0, 2), t)
        else:
            self.emit(indent, "%s := %s" % (name, self.expr(t, 3)[0]))
        self.declare(Var(name, t))

    def s_assign(self, indent):
        vs = self.visible(lambda v: v.assignable and v.type in ("I64", "F64", "Bool", "Str"))
        if not vs:
            return self.s_declare(indent)
        v = self.r.choice(vs)
        self.emit(indent, "%s = %s" % (v.name, self.expr(v.type, 3)[0]))

    def s_array_store(self, indent):
        arrays = self.visible(lambda v: v.type in ARRAYS)
        if not arrays:
            return self.s_declare(indent)
        a = self.r.choice(arrays)
        self.emit(indent, "%s[%s] = %s" % (a.name, self.index_expr(a, 2), self.expr(a.type[6:], 3)[0]))

    def s_print(self, indent):
        r = self.r
        t = r.choice(["I64", "I64", "F64", "F64", "Bool", "Str"])
        fn = "print" if r.random() < 0.7 else "write"
        self.emit(indent, "%s %s" % (fn, self.wrap(self.expr(t, 3))))
        if fn == "write" and r.random() < 0.5:
            self.emit(indent, 'write " "')

    def s_call(self, indent):
        r = self.r
        ret = r.choice(["Unit", "Unit", "I64", "F64", "Bool"])
        c = self.e_call(ret, 2)
        if c is None:
            return self.s_print(indent)
        self.emit(indent, c[0])

    def s_if(self, indent):
        r = self.r
        self.emit(indent, "if %s." % self.e_bool(3)[0])
        self.block(indent + 1, r.randint(1, 3))
        while r.random() < 0.3:
            self.emit(indent, "else if %s." % self.e_bool(2)[0])
            self.block(indent + 1, r.randint(1, 2))
        if r.random() < 0.5:
            self.emit(indent, "else.")
            self.block(indent + 1, r.randint(1, 2))

    def s_while(self, indent):
        r = self.r
        i = self.fresh("i")
        limit = r.choice([1, 2, 3, 4, 5, 6, 8, 10, 0]) if self.loop_depth == 0 else r.randint(0, 4)
        form = r.randint(0, 3)
        if form == 3:  # counting down
            self.emit(indent, "%s := %d" % (i, limit))
            self.emit(indent, "while %s > 0." % i)
            self.emit(indent + 1, "%s = %s - 1" % (i, i))
        else:
            self.emit(indent, "%s := 0" % i)
            if form == 0:
                self.emit(indent, "while %s < %d." % (i, limit))
            elif form == 1:
                self.emit(indent, "while %s < %d and %s." % (i, limit, self.wrap(self.e_bool(2))))
            else:
                self.emit(indent, "while true.")
            self.emit(indent + 1, "%s = %s + 1" % (i, i))
            if form == 2:
                self.emit(indent + 1, "if %s > %d. break" % (i, limit))
        self.scopes[-1].append(Var(i, "I64", assignable=False))
        self.loop_depth += 1
        self.block(indent + 1, r.randint(1, 4))
        self.loop_depth -= 1

    def s_break(self, indent):
        self.emit(indent, "if %s. %s" % (self.e_bool(2)[0], self.r.choice(["break", "continue"])))

    def s_return(self, indent):
        if indent <= 1:  # only inside a nested block, so what follows stays reachable
            return self.s_print(indent)
        self.emit(indent, "if %s. %s" % (self.e_bool(2)[0], self.return_text()))

    def return_text(self):
        f = self.func
        if f.kind == "main":
            return "return band %s 62" % self.wrap(self.e_i64(2))
        if f.ret == "Unit":
            return "return"
        return "return %s" % self.wrap(self.expr(f.ret, 2))

    # ---------------------------------------------------------------- program
    def signature(self, kind, index):
        r = self.r
        params = [("d", "I64")] if kind == "rec" else []
        for k in range(r.choice([0, 1, 1, 2, 2, 3, 4])):
            t = r.choice(["I64", "I64", "I64", "F64", "F64", "Bool", "Str"] + list(ARRAYS))
            params.append(("p%d" % k, t))
        ret = r.choice(["I64", "I64", "F64", "Bool", "Unit"] + (list(ARRAYS) + ["Str"] if r.random() < 0.2 else []))
        return Func("f%d" % index, kind, index, params, ret)

    def function(self, f):
        r = self.r
        self.func = f
        self.scopes = [list(self.globals)]
        self.scopes.append([Var(n, t, n != "d", 8 if t in ARRAYS else 0) for n, t in f.params])
        ps = ", ".join("%s: %s" % p for p in f.params)
        self.emit(0, "%s := fun (%s)%s." % (f.name, ps, "" if f.ret == "Unit" else " -> " + f.ret))
        bail = "return" if f.ret == "Unit" else "return " + self.wrap((default_value(f.ret), False))
        self.emit(1, "fuel = fuel - 1")
        if f.kind == "rec":
            self.emit(1, "if d <= 0 or fuel < 0. %s" % bail)
        else:
            self.emit(1, "if fuel < 0. %s" % bail)
        n = r.randint(1, self.size)
        for _ in range(n):
            self.statement(1)
        if f.ret != "Unit":
            if r.random() < 0.3:
                self.final_if(1, f.ret)
            else:
                self.emit(1, self.final_value(f.ret))
        self.emit(0, "")

    def final_value(self, t):
        if t in ARRAYS:
            return self.e_array(t, 2)[0]
        return self.expr(t, 3)[0]

    def final_if(self, indent, t):
        r = self.r
        self.emit(indent, "if %s." % self.e_bool(2)[0])
        self.final_block(indent + 1, t)
        while r.random() < 0.4:
            self.emit(indent, "else if %s." % self.e_bool(2)[0])
            self.final_block(indent + 1, t)
        self.emit(indent, "else.")
        self.final_block(indent + 1, t)

    def final_block(self, indent, t):
        self.scopes.append([])
        for _ in range(self.r.randint(0, 2)):
            self.statement(indent)
        self.emit(indent, self.final_value(t))
        self.scopes.pop()

    def deep_function(self):
        """Recursion with no fuel: `n` frames deep (stack overflow past 100,000)."""
        self.emit(0, "deep := fun (n: I64, x: F64) -> I64.")
        self.emit(1, "if n <= 0. int x")
        self.emit(1, "else. 1 + deep (n - 1) (x + 1.0)")
        self.emit(0, "")

    def generate(self):
        r = self.r
        self.globals = [Var("fuel", "I64", assignable=False)]
        self.emit(0, ";; generated by tools/fuzz/gen_program.py (risk %s)" % self.risk)
        self.emit(0, "fuel := %d" % self.fuel)
        for k in range(r.randint(2, 6)):
            t = r.choice(["I64", "I64", "F64", "F64", "Bool", "Str"])
            init = {
                "I64": lambda: r.choice([self.lit_i64()[0], "%d * %d - %d" % (r.randint(-9, 9), r.randint(0, 99), r.randint(0, 9)),
                                         I64_MIN, "-(%d)" % r.randint(0, 9)]),
                "F64": lambda: r.choice([self.lit_f64()[0], "1.0 / 0.0", "-(2.5) * 4.0", "0.1 + 0.2"]),
                "Bool": lambda: r.choice(["true", "false", "not true", "1 < 2", "2.5 == 2.5 and false"]),
                "Str": lambda: r.choice(STRINGS),
            }[t]()
            name = "g%d" % k
            self.emit(0, "%s := %s" % (name, init))
            self.globals.append(Var(name, t))
        self.emit(0, "")

        nfun = r.randint(2, 3 + self.size)
        kinds = []
        for _ in range(nfun):
            kinds.append(r.choice(["top", "rec", "leaf"]))
        order = {"top": 0, "rec": 1, "leaf": 2}
        kinds.sort(key=lambda k: order[k])
        self.funcs = [self.signature(k, i) for i, k in enumerate(kinds)]
        deep = self.risk > 0 and r.random() < 0.15
        if deep:
            self.deep_function()
        for f in self.funcs:
            self.function(f)

        main = Func("main", "main", len(self.funcs), [], "I64")
        self.func = main
        self.scopes = [list(self.globals), []]
        self.emit(0, "main := fun () -> I64.")
        for _ in range(r.randint(2, self.size + 2)):
            self.statement(1)
        # Call every function several times, so --jit tier --jit-threshold 2 switches engines
        # in the middle of the run.
        i = self.fresh("i")
        self.emit(1, "%s := 0" % i)
        self.emit(1, "while %s < %d." % (i, r.randint(3, 5)))
        self.emit(2, "%s = %s + 1" % (i, i))
        self.scopes[-1].append(Var(i, "I64", assignable=False))
        self.scopes.append([])
        for g in self.funcs:
            call = "%s %s" % (g.name, " ".join(self.args(g, 2)) or "()")
            if g.ret == "Unit":
                self.emit(2, call)
            elif g.ret in ARRAYS:
                self.emit(2, "print (len (%s))" % call)
            elif g.ret == "Str":
                self.emit(2, "print (%s)" % call)
            else:
                self.emit(2, "%s (%s)" % (r.choice(["print", "write"]), call))
        self.scopes.pop()
        if deep:
            n = r.choice([1, 10, 5000, 20000, 99_999, 100_000, 100_001, 250_000])
            self.emit(1, "print (deep %d 0.5)" % n)
        for _ in range(r.randint(0, 3)):
            self.statement(1)
        self.emit(1, "print fuel")
        self.emit(1, "band %s 62" % self.wrap(self.e_i64(2)))
        return "\n".join(self.lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("seed", type=int)
    ap.add_argument("--size", type=int, default=5, help="statements per function, roughly (default 5)")
    ap.add_argument("--count", type=int, help="write COUNT programs, seeds SEED..SEED+COUNT-1")
    ap.add_argument("--out", help="directory for --count")
    a = ap.parse_args()
    if a.count is None:
        sys.stdout.write(Gen(a.seed, a.size).generate())
        return
    if not a.out:
        ap.error("--count needs --out DIR")
    os.makedirs(a.out, exist_ok=True)
    for seed in range(a.seed, a.seed + a.count):
        with open(os.path.join(a.out, "fuzz_%d.rib" % seed), "w") as f:
            f.write(Gen(seed, a.size).generate())


if __name__ == "__main__":
    main()
