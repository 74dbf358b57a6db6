#!/usr/bin/env python3
"""Generate a large, valid Ribbon Core program (for compile-time, load-time and cache benchmarks).

usage: gen_large_program.py [--functions N] [--seed S] [-o FILE] [--lua FILE] [--python FILE]

Writes N functions of about 11 lines each (parameters, locals, arithmetic, if/else chains, while
loops with break, calls to earlier functions, globals, F64 math, bitwise built-ins) and a `main`
that calls a handful of them and prints a few numbers. Deterministic for a given seed.
`--lua` and `--python` write the same program in Lua (runs under Lua 5.4 and LuaJIT) and
Python 3; all three print the same output.

How the three agree: every I64 value stored in a variable, passed or returned is kept in
[0, M) (M = 1_000_003) and every intermediate below 2^52, so no operation overflows, `/` and `%`
only see non-negative operands (truncation = floor), bitwise operands are below 2^31 (LuaJIT's
`bit` library) and LuaJIT's doubles are exact. F64 values are non-negative and bounded, go
through the same IEEE operations in the same order, and only reach the output through `int`.
Run time stays tiny: every function has a dynamic cost budget that includes its callees."""
import argparse
import math
import random
import sys

M = 1_000_003          # modulus: every stored I64 is in [0, M)
FB = 1e8               # bound of every stored F64
INT_LIMIT = 2 ** 52    # bound of every I64 intermediate
FLT_LIMIT = 1e15       # bound of every F64 intermediate
COST_CAP = 2000        # dynamic cost budget of one function, callees included

# ---------------------------------------------------------------- expression trees
# ('int', v) ('flt', v) ('var', name) ('bin', op, a, b) with op in + * / % (I64: / % by constants)
# ('absdiff', a, b) ('call', fname, [args]) ('b', builtin, [args]) for float int sqrt band bxor shr
# ('cmp', op, a, b) ('and', a, b) ('or', a, b) ('not', a)


class Fn:
    def __init__(self, index, params, ret):
        self.index = index
        self.name = "f%d" % index
        self.params = params      # [(name, 'I64'|'F64')]
        self.ret = ret
        self.cost = 0
        self.body = []            # statements
        self.result = None        # final expression
        self.assigned_globals = set()


class Gen:
    def __init__(self, rng, nfuncs):
        self.rng = rng
        self.nfuncs = nfuncs
        self.funcs = []
        self.by_ret = {"I64": [], "F64": []}
        self.int_globals = [("g_scale", 17), ("g_bias", 3), ("g_acc", 0)]
        self.flt_globals = [("g_ratio", 0.75), ("g_step", 0.125)]

    # -- choosing callees
    def pick_callee(self, ret, budget):
        cands = self.by_ret[ret]
        if not cands:
            return None
        rng = self.rng
        for _ in range(4):
            if rng.random() < 0.7:
                f = cands[max(0, len(cands) - 1 - int(rng.expovariate(1 / 30.0)))]
            else:
                f = rng.choice(cands)
            if f.cost + 2 <= budget:
                return f
        return None

    # -- expressions; each returns (expr, bound, cost)
    def int_expr(self, env, depth, budget):
        rng = self.rng
        ivars = env["ivars"]
        if depth >= 3 or rng.random() < 0.25:
            if ivars and rng.random() < 0.8:
                return ("var", rng.choice(ivars)), M - 1, 1
            v = rng.choice([rng.randint(0, 9), rng.randint(10, 1000), rng.randint(1000, 100000)])
            return ("int", v), v, 1
        k = rng.random()
        if k < 0.25:
            a, ba, ca = self.int_expr(env, depth + 1, budget)
            b, bb, cb = self.int_expr(env, depth + 1, budget - ca)
            if ba + bb >= INT_LIMIT:
                a, ba = ("bin", "%", a, ("int", M)), M - 1
                b, bb = ("bin", "%", b, ("int", M)), M - 1
            return ("bin", "+", a, b), ba + bb, ca + cb + 1
        if k < 0.40:
            a, ba, ca = self.int_expr(env, depth + 1, budget)
            b, bb, cb = self.int_expr(env, depth + 1, budget - ca)
            if ba * bb < INT_LIMIT:
                return ("bin", "*", a, b), ba * bb, ca + cb + 1
            c = rng.randint(2, 97)
            if ba * c < INT_LIMIT:
                return ("bin", "*", a, ("int", c)), ba * c, ca + 1
            if ba + bb >= INT_LIMIT:
                a, ba = ("bin", "%", a, ("int", M)), M - 1
                b, bb = ("bin", "%", b, ("int", M)), M - 1
            return ("bin", "+", a, b), ba + bb, ca + cb + 1
        if k < 0.50:
            a, ba, ca = self.int_expr(env, depth + 1, budget)
            m = rng.choice([7, 10, 256, 1000, 65_521, 1_000_003])
            return ("bin", "%", a, ("int", m)), min(ba, m - 1), ca + 1
        if k < 0.57:
            a, ba, ca = self.int_expr(env, depth + 1, budget)
            d = rng.randint(2, 100)
            return ("bin", "/", a, ("int", d)), ba // d, ca + 1
        if k < 0.65:
            a, ba, ca = self.int_expr(env, depth + 1, budget)
            b, bb, cb = self.int_expr(env, depth + 1, budget - ca)
            return ("absdiff", a, b), max(ba, bb), ca + cb + 2
        if k < 0.75:
            a, ba, ca = self.int_expr(env, depth + 1, budget)
            if ba >= 2 ** 31:
                a, ba = ("bin", "%", a, ("int", M)), M - 1
            op = rng.choice(["band", "bxor", "shr"])
            if op == "band":
                mask = rng.choice([1, 3, 7, 15, 255, 0xFFFF, 0x5555])
                return ("b", "band", [a, ("int", mask)]), min(ba, mask), ca + 1
            if op == "shr":
                s = rng.randint(1, 8)
                return ("b", "shr", [a, ("int", s)]), ba >> s, ca + 1
            b, bb, cb = self.int_expr(env, depth + 1, budget - ca)
            if bb >= 2 ** 31:
                b, bb = ("bin", "%", b, ("int", M)), M - 1
            return ("b", "bxor", [a, b]), 2 ** max(ba, bb).bit_length() - 1, ca + cb + 1
        if k < 0.85:
            f, bf, cf = self.flt_expr(env, depth + 1, budget)
            if bf >= INT_LIMIT:
                f, bf = ("b", "sqrt", [f]), math.sqrt(bf) + 1
            return ("b", "int", [f]), int(bf), cf + 1
        f = self.pick_callee("I64", budget - 2)
        if f is None:
            return self.int_expr(env, 3, budget)
        args, cost = self.args_for(f, env, depth, budget - f.cost - 1)
        return ("call", f.name, args), M - 1, f.cost + cost + 1

    def flt_expr(self, env, depth, budget):
        rng = self.rng
        fvars = env["fvars"]
        if depth >= 3 or rng.random() < 0.25:
            if fvars and rng.random() < 0.75:
                return ("var", rng.choice(fvars)), FB, 1
            v = rng.choice([0.5, 0.25, 1.5, 2.0, 0.1, 3.25, 0.001, 1e3, 2.5e-3, 10.0, 0.3])
            return ("flt", v), v, 1
        k = rng.random()
        if k < 0.25:
            a, ba, ca = self.flt_expr(env, depth + 1, budget)
            b, bb, cb = self.flt_expr(env, depth + 1, budget - ca)
            if ba + bb >= FLT_LIMIT:
                a, ba = ("b", "sqrt", [a]), math.sqrt(ba) + 1
                b, bb = ("b", "sqrt", [b]), math.sqrt(bb) + 1
            return ("bin", "+", a, b), ba + bb, ca + cb + 1
        if k < 0.40:
            a, ba, ca = self.flt_expr(env, depth + 1, budget)
            b, bb, cb = self.flt_expr(env, depth + 1, budget - ca)
            if ba * bb < FLT_LIMIT:
                return ("bin", "*", a, b), ba * bb, ca + cb + 1
            if ba + bb >= FLT_LIMIT:
                a, ba = ("b", "sqrt", [a]), math.sqrt(ba) + 1
                b, bb = ("b", "sqrt", [b]), math.sqrt(bb) + 1
            return ("bin", "+", a, b), ba + bb, ca + cb + 1
        if k < 0.50:
            a, ba, ca = self.flt_expr(env, depth + 1, budget)
            d = rng.choice([2.0, 3.0, 7.5, 10.0, 1000.0])
            return ("bin", "/", a, ("flt", d)), ba / d, ca + 1
        if k < 0.62:
            a, ba, ca = self.flt_expr(env, depth + 1, budget)
            return ("b", "sqrt", [a]), math.sqrt(ba) + 1, ca + 1
        if k < 0.70:
            a, ba, ca = self.flt_expr(env, depth + 1, budget)
            b, bb, cb = self.flt_expr(env, depth + 1, budget - ca)
            return ("absdiff", a, b), max(ba, bb), ca + cb + 2
        if k < 0.85:
            a, ba, ca = self.int_expr(env, depth + 1, budget)
            return ("b", "float", [a]), float(ba), ca + 1
        f = self.pick_callee("F64", budget - 2)
        if f is None:
            return self.flt_expr(env, 3, budget)
        args, cost = self.args_for(f, env, depth, budget - f.cost - 1)
        return ("call", f.name, args), FB, f.cost + cost + 1

    def args_for(self, f, env, depth, budget):
        args, cost = [], 0
        for _, t in f.params:
            e, c = self.store_expr(t, env, depth + 1, budget - cost)
            args.append(e)
            cost += c
        return args, cost

    def store_expr(self, t, env, depth, budget):
        """An expression of type t within the storage bounds ([0, M) or [0, FB])."""
        if t == "I64":
            e, b, c = self.int_expr(env, depth, budget)
            if b >= M:
                e = ("bin", "%", e, ("int", M))
            return e, c
        e, b, c = self.flt_expr(env, depth, budget)
        if b > FB:
            e = ("b", "sqrt", [e])
        return e, c

    def bool_expr(self, env, depth, budget):
        rng = self.rng
        k = rng.random()
        if depth < 1 and k < 0.15:
            a, ca = self.bool_expr(env, depth + 1, budget)
            b, cb = self.bool_expr(env, depth + 1, budget - ca)
            return (rng.choice(["and", "or"]), a, b), ca + cb + 1
        if depth < 1 and k < 0.22:
            a, ca = self.bool_expr(env, depth + 1, budget)
            return ("not", a), ca + 1
        if k < 0.35:
            a, ba, ca = self.int_expr(env, 2, budget)
            if ba >= 2 ** 31:
                a = ("bin", "%", a, ("int", M))
            return ("cmp", rng.choice(["==", "!="]), ("b", "band", [a, ("int", 1)]), ("int", 0)), ca + 2
        if k < 0.75 or not env["fvars"]:
            a, _, ca = self.int_expr(env, 2, budget)
            b, _, cb = self.int_expr(env, 2, budget - ca)
            return ("cmp", rng.choice(["<", "<=", ">", ">=", "==", "!="]), a, b), ca + cb + 1
        a, _, ca = self.flt_expr(env, 2, budget)
        b, _, cb = self.flt_expr(env, 2, budget - ca)
        return ("cmp", rng.choice(["<", "<=", ">", ">="]), a, b), ca + cb + 1

    # -- statements
    def assign_stmt(self, fn, env, budget):
        rng = self.rng
        if rng.random() < 0.12:
            g = "g_acc"
            e, c = self.store_expr("I64", env, 1, budget)
            fn.assigned_globals.add(g)
            return ("set", g, ("bin", "%", ("bin", "+", ("var", g), e), ("int", M))), c + 2
        if env["flocals"] and rng.random() < 0.3:
            name = rng.choice(env["flocals"])
            e, c = self.store_expr("F64", env, 1, budget)
            return ("set", name, e), c + 1
        if env["ilocals"]:
            name = rng.choice(env["ilocals"])
            e, c = self.store_expr("I64", env, 1, budget)
            return ("set", name, e), c + 1
        return None, 0

    def gen_function(self, index):
        rng = self.rng
        nparams = rng.choice([1, 2, 2, 2, 3, 3])
        params = [("a%d" % i, "I64" if rng.random() < 0.7 else "F64") for i in range(nparams)]
        ret = "I64" if rng.random() < 0.75 else "F64"
        fn = Fn(index, params, ret)
        env = {
            "ivars": [n for n, t in params if t == "I64"] + [g for g, _ in self.int_globals],
            "fvars": [n for n, t in params if t == "F64"] + [g for g, _ in self.flt_globals],
            "ilocals": [], "flocals": [],
        }
        budget = COST_CAP
        body = []
        # locals
        for i in range(rng.choice([2, 2, 3, 3])):
            t = "I64" if rng.random() < 0.7 else "F64"
            name = "v%d" % i
            e, c = self.store_expr(t, env, 0, budget // 4)
            budget -= c
            body.append(("let", name, e))
            env["ivars" if t == "I64" else "fvars"].append(name)
            env["ilocals" if t == "I64" else "flocals"].append(name)
        if rng.random() < 0.15:
            body.append(("set", "g_calls", ("bin", "+", ("var", "g_calls"), ("int", 1))))
            fn.assigned_globals.add("g_calls")
        if rng.random() < 0.5:
            # counted loop with an if inside and sometimes an early break
            trips = rng.randint(2, 6)
            cnt = "i0"
            body.append(("let", cnt, ("int", 0)))
            inner_budget = max(8, budget // (trips + 1))
            loop = []
            s, c = self.assign_stmt(fn, env, inner_budget // 2)
            if s:
                loop.append(s)
            if rng.random() < 0.6:
                cond, cc = self.bool_expr(env, 0, inner_budget // 4)
                s2, c2 = self.assign_stmt(fn, env, inner_budget // 4)
                if s2:
                    loop.append(("if", [(cond, [s2])], None))
            if rng.random() < 0.25:
                cond, cc = self.bool_expr(env, 1, 4)
                loop.append(("breakif", cond))
            incr = ("set", cnt, ("bin", "+", ("var", cnt), ("int", 1)))
            if loop and loop[-1][0] == "set" and rng.random() < 0.3:
                loop[-1] = ("seq", [loop[-1], incr])   # `a = b; i0 = i0 + 1` on one line
            else:
                loop.append(incr)
            body.append(("while", ("cmp", "<", ("var", cnt), ("int", trips)), loop))
            budget -= inner_budget * trips // 2
        if rng.random() < 0.5:
            # if / else-if / else chain
            arms = []
            for _ in range(rng.choice([1, 1, 2])):
                cond, cc = self.bool_expr(env, 0, budget // 6)
                s, c = self.assign_stmt(fn, env, budget // 4)
                arms.append((cond, [s] if s else []))
            els = None
            if rng.random() < 0.7:
                s, c = self.assign_stmt(fn, env, budget // 4)
                els = [s] if s else None
            arms = [(cnd, st) for cnd, st in arms if st]
            if arms:
                body.append(("if", arms, els))
        for _ in range(rng.choice([0, 1, 1, 2])):
            s, c = self.assign_stmt(fn, env, budget // 4)
            if s:
                body.append(s)
                budget -= c
        # result
        if ret == "I64":
            e, c = self.store_expr("I64", env, 0, max(4, budget // 2))
        else:
            e, c = self.store_expr("F64", env, 0, max(4, budget // 2))
        fn.body = body
        fn.result = e
        fn.cost = min(COST_CAP, self.estimate(fn))
        return fn

    def estimate(self, fn):
        def ec(e):
            tag = e[0]
            if tag in ("int", "flt", "var"):
                return 1
            if tag == "call":
                return 1 + self.func_by_name[e[1]].cost + sum(ec(a) for a in e[2])
            if tag == "b":
                return 1 + sum(ec(a) for a in e[2])
            if tag == "not":
                return 1 + ec(e[1])
            if tag in ("and", "or", "absdiff"):
                return 1 + ec(e[1]) + ec(e[2])
            return 1 + ec(e[2]) + ec(e[3])

        def sc(s):
            tag = s[0]
            if tag in ("let", "set"):
                return 1 + ec(s[2])
            if tag == "seq":
                return sum(sc(x) for x in s[1])
            if tag == "breakif":
                return 1 + ec(s[1])
            if tag == "if":
                total = sum(ec(c) + sum(sc(x) for x in st) for c, st in s[1])
                if s[2]:
                    total += sum(sc(x) for x in s[2])
                return total
            if tag == "while":
                trips = s[1][3][1]
                return (trips + 1) * (ec(s[1]) + sum(sc(x) for x in s[2]))
            raise ValueError(tag)
        return sum(sc(s) for s in fn.body) + ec(fn.result) + 2

    def generate(self):
        self.func_by_name = {}
        for i in range(self.nfuncs):
            # retry until the function fits the budget (callees' costs are exact by now)
            for attempt in range(20):
                fn = self.gen_function(i)
                if self.estimate(fn) <= COST_CAP:
                    break
            else:
                raise SystemExit("gen_large_program: could not fit function %d" % i)
            self.funcs.append(fn)
            self.func_by_name[fn.name] = fn
            self.by_ret[fn.ret].append(fn)
        # main: call a handful of late functions with constant arguments
        picks = []
        lo = max(0, self.nfuncs - max(50, self.nfuncs // 4))
        pool = self.funcs[lo:]
        for _ in range(min(8, len(pool))):
            picks.append(self.rng.choice(pool))
        calls = []
        for f in picks:
            args = []
            for _, t in f.params:
                if t == "I64":
                    args.append(("int", self.rng.randint(0, 5000)))
                else:
                    args.append(("flt", self.rng.choice([0.5, 1.25, 42.0, 3.0e2])))
            calls.append((f, args))
        self.main_calls = calls


# ---------------------------------------------------------------- Ribbon emitter
R_PREC = {"or": 1, "and": 2, "not": 3, "==": 4, "!=": 4, "<": 5, "<=": 5, ">": 5, ">=": 5,
          "+": 6, "-": 6, "*": 7, "/": 7, "%": 7}
APP = 9
ATOM = 10


def fmt_float(v):
    r = repr(float(v))
    if "e" in r and "." not in r.split("e")[0]:
        m, x = r.split("e")
        r = m + ".0e" + x
    return r


def fmt_int(v):
    return "{:_}".format(v) if v >= 100_000 else str(v)


def r_expr(e):
    """Returns (text, precedence)."""
    tag = e[0]
    if tag == "int":
        return fmt_int(e[1]), ATOM
    if tag == "flt":
        return fmt_float(e[1]), ATOM
    if tag == "var":
        return e[1], ATOM
    if tag == "call":
        if not e[2]:
            return e[1] + " ()", APP
        return e[1] + " " + " ".join(r_arg(a) for a in e[2]), APP
    if tag == "b":
        return e[1] + " " + " ".join(r_arg(a) for a in e[2]), APP
    if tag == "absdiff":
        return "abs (%s)" % r_sub(("bin", "-", e[1], e[2]), 0), APP
    if tag == "not":
        return "not " + r_sub(e[1], R_PREC["not"]), R_PREC["not"]
    if tag in ("and", "or"):
        p = R_PREC[tag]
        return "%s %s %s" % (r_sub(e[1], p), tag, r_sub(e[2], p + 1)), p
    op = e[1]
    p = R_PREC[op]
    if tag == "cmp":
        return "%s %s %s" % (r_sub(e[2], p + 1), op, r_sub(e[3], p + 1)), p
    # left-associative binary operator
    return "%s %s %s" % (r_sub(e[2], p), op, r_sub(e[3], p + 1)), p


def r_sub(e, need):
    t, p = r_expr(e)
    return t if p >= need else "(" + t + ")"


def r_arg(e):
    return r_sub(e, ATOM)


def ribbon_program(g, nfuncs):
    out = [";; Generated by tools/gen_large_program.py --functions %d (do not edit)." % nfuncs]
    for name, v in g.int_globals:
        out.append("%s := %s" % (name, fmt_int(v)))
    out.append("g_calls := 0")
    for name, v in g.flt_globals:
        out.append("%s := %s" % (name, fmt_float(v)))
    out.append('banner := "large program\\tdone"')
    out.append("")
    for fn in g.funcs:
        ps = ", ".join("%s: %s" % (n, t) for n, t in fn.params)
        out.append("%s := fun (%s) -> %s." % (fn.name, ps, fn.ret))
        r_block(fn.body, 1, out)
        out.append("    " + r_expr(fn.result)[0])
        out.append("")
    out.append("main := fun () -> I64.")
    out.append("    r := 0")
    for f, args in g.main_calls:
        call = r_expr(("call", f.name, args))[0]
        if f.ret == "I64":
            out.append("    r = (r * 31 + %s) %% %s" % (call, fmt_int(M)))
        else:
            out.append("    r = (r * 31 + int (%s)) %% %s" % (call, fmt_int(M)))
    out.append("    print r")
    out.append("    print g_acc; print g_calls")
    out.append("    print banner")
    out.append("    0")
    return "\n".join(out) + "\n"


def r_block(stmts, depth, out):
    ind = "    " * depth
    for s in stmts:
        tag = s[0]
        if tag == "let":
            out.append("%s%s := %s" % (ind, s[1], r_expr(s[2])[0]))
        elif tag == "set":
            out.append("%s%s = %s" % (ind, s[1], r_expr(s[2])[0]))
        elif tag == "seq":
            parts = []
            r_block(s[1], 0, parts)
            out.append(ind + "; ".join(parts))
        elif tag == "breakif":
            out.append("%sif %s. break" % (ind, r_expr(s[1])[0]))
        elif tag == "while":
            out.append("%swhile %s." % (ind, r_expr(s[1])[0]))
            r_block(s[2], depth + 1, out)
        elif tag == "if":
            for k, (cond, st) in enumerate(s[1]):
                kw = "if" if k == 0 else "else if"
                if len(st) == 1 and len(s[1]) == 1 and not s[2]:
                    # one-line form
                    one = []
                    r_block(st, 0, one)
                    out.append("%s%s %s. %s" % (ind, kw, r_expr(cond)[0], one[0]))
                else:
                    out.append("%s%s %s." % (ind, kw, r_expr(cond)[0]))
                    r_block(st, depth + 1, out)
            if s[2]:
                out.append("%selse." % ind)
                r_block(s[2], depth + 1, out)
        else:
            raise ValueError(tag)


# ---------------------------------------------------------------- Lua and Python emitters
def x_expr(e, lang):
    tag = e[0]
    if tag == "int":
        return str(e[1])
    if tag == "flt":
        return fmt_float(e[1])
    if tag == "var":
        return e[1]
    if tag == "call":
        return "%s(%s)" % (e[1], ", ".join(x_expr(a, lang) for a in e[2]))
    if tag == "absdiff":
        f = "abs" if lang == "py" else "math.abs"
        return "%s(%s - %s)" % (f, x_expr(e[1], lang), x_expr(e[2], lang))
    if tag == "b":
        name, args = e[1], [x_expr(a, lang) for a in e[2]]
        if lang == "py":
            if name == "float":
                return "float(%s)" % args[0]
            if name == "int":
                return "int(%s)" % args[0]
            if name == "sqrt":
                return "math.sqrt(%s)" % args[0]
            op = {"band": "&", "bxor": "^", "shr": ">>"}[name]
            return "(%s %s %s)" % (args[0], op, args[1])
        if name == "float":
            return "(%s + 0.0)" % args[0]
        if name == "int":
            return "math.floor(%s)" % args[0]      # operands are never negative
        if name == "sqrt":
            return "math.sqrt(%s)" % args[0]
        return "%s(%s, %s)" % (name, args[0], args[1])
    if tag == "not":
        return "(not %s)" % x_expr(e[1], lang)
    if tag in ("and", "or"):
        return "(%s %s %s)" % (x_expr(e[1], lang), tag, x_expr(e[2], lang))
    a, b = x_expr(e[2], lang), x_expr(e[3], lang)
    op = e[1]
    if tag == "cmp":
        if op == "!=" and lang == "lua":
            op = "~="
        return "(%s %s %s)" % (a, op, b)
    if op == "/" and e[3][0] == "int":
        return "(%s // %s)" % (a, b) if lang == "py" else "idiv(%s, %s)" % (a, b)
    return "(%s %s %s)" % (a, op, b)


def strip(t):
    return t[1:-1] if t.startswith("(") and t.endswith(")") and balanced(t[1:-1]) else t


def balanced(t):
    d = 0
    for ch in t:
        d += ch == "("
        d -= ch == ")"
        if d < 0:
            return False
    return d == 0


def x_block(stmts, depth, out, lang):
    ind = ("  " if lang == "lua" else "    ") * depth
    for s in stmts:
        tag = s[0]
        if tag == "let":
            pre = "local " if lang == "lua" else ""
            out.append("%s%s%s = %s" % (ind, pre, s[1], strip(x_expr(s[2], lang))))
        elif tag == "set":
            out.append("%s%s = %s" % (ind, s[1], strip(x_expr(s[2], lang))))
        elif tag == "seq":
            x_block(s[1], depth, out, lang)
        elif tag == "breakif":
            if lang == "lua":
                out.append("%sif %s then break end" % (ind, strip(x_expr(s[1], lang))))
            else:
                out.append("%sif %s:" % (ind, strip(x_expr(s[1], lang))))
                out.append("%s    break" % ind)
        elif tag == "while":
            c = strip(x_expr(s[1], lang))
            out.append("%swhile %s%s" % (ind, c, " do" if lang == "lua" else ":"))
            x_block(s[2], depth + 1, out, lang)
            if lang == "lua":
                out.append("%send" % ind)
        elif tag == "if":
            for k, (cond, st) in enumerate(s[1]):
                c = strip(x_expr(cond, lang))
                if lang == "lua":
                    out.append("%s%s %s then" % (ind, "if" if k == 0 else "elseif", c))
                else:
                    out.append("%s%s %s:" % (ind, "if" if k == 0 else "elif", c))
                x_block(st, depth + 1, out, lang)
            if s[2]:
                out.append("%selse%s" % (ind, "" if lang == "lua" else ":"))
                x_block(s[2], depth + 1, out, lang)
            if lang == "lua":
                out.append("%send" % ind)
        else:
            raise ValueError(tag)


def lua_program(g, nfuncs):
    out = ["-- Generated by tools/gen_large_program.py --functions %d (do not edit)." % nfuncs,
           "-- Runs under Lua 5.4 and LuaJIT; prints what the Ribbon version prints.",
           "local band, bxor, shr",
           "if bit then",
           "  band, bxor, shr = bit.band, bit.bxor, bit.rshift",
           "else",
           '  band, bxor, shr = load("return function(a, b) return a & b end, '
           'function(a, b) return a ~ b end, function(a, b) return a >> b end")()',
           "end",
           "local function idiv(a, b) return math.floor(a / b) end"]
    for name, v in g.int_globals:
        out.append("%s = %d" % (name, v))
    out.append("g_calls = 0")
    for name, v in g.flt_globals:
        out.append("%s = %s" % (name, fmt_float(v)))
    out.append('banner = "large program\\tdone"')
    out.append("")
    for fn in g.funcs:
        out.append("function %s(%s)" % (fn.name, ", ".join(n for n, _ in fn.params)))
        x_block(fn.body, 1, out, "lua")
        out.append("  return %s" % strip(x_expr(fn.result, "lua")))
        out.append("end")
    out.append("")
    out.append("local r = 0")
    for f, args in g.main_calls:
        call = x_expr(("call", f.name, args), "lua")
        if f.ret == "F64":
            call = "math.floor(%s)" % call
        out.append("r = (r * 31 + %s) %% %d" % (call, M))
    out.append('print(string.format("%d", r))')
    out.append('print(string.format("%d", g_acc))')
    out.append('print(string.format("%d", g_calls))')
    out.append("print(banner)")
    return "\n".join(out) + "\n"


def python_program(g, nfuncs):
    out = ["# Generated by tools/gen_large_program.py --functions %d (do not edit)." % nfuncs,
           "# Prints what the Ribbon version prints.",
           "import math"]
    for name, v in g.int_globals:
        out.append("%s = %d" % (name, v))
    out.append("g_calls = 0")
    for name, v in g.flt_globals:
        out.append("%s = %s" % (name, fmt_float(v)))
    out.append('banner = "large program\\tdone"')
    out.append("")
    for fn in g.funcs:
        out.append("def %s(%s):" % (fn.name, ", ".join(n for n, _ in fn.params)))
        if fn.assigned_globals:
            out.append("    global " + ", ".join(sorted(fn.assigned_globals)))
        x_block(fn.body, 1, out, "py")
        out.append("    return %s" % strip(x_expr(fn.result, "py")))
    out.append("")
    out.append("def main():")
    out.append("    r = 0")
    for f, args in g.main_calls:
        call = x_expr(("call", f.name, args), "py")
        if f.ret == "F64":
            call = "int(%s)" % call
        out.append("    r = (r * 31 + %s) %% %d" % (call, M))
    out.append("    print(r)")
    out.append("    print(g_acc)")
    out.append("    print(g_calls)")
    out.append("    print(banner)")
    out.append("")
    out.append("main()")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--functions", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("-o", "--output", default="-", help="Ribbon output file (default stdout)")
    ap.add_argument("--lua", help="also write the Lua version here")
    ap.add_argument("--python", help="also write the Python version here")
    a = ap.parse_args()
    if a.functions < 1:
        sys.exit("gen_large_program: --functions must be at least 1")
    g = Gen(random.Random(a.seed), a.functions)
    g.generate()
    text = ribbon_program(g, a.functions)
    if a.output == "-":
        sys.stdout.write(text)
    else:
        with open(a.output, "w") as f:
            f.write(text)
    if a.lua:
        with open(a.lua, "w") as f:
            f.write(lua_program(g, a.functions))
    if a.python:
        with open(a.python, "w") as f:
            f.write(python_program(g, a.functions))


if __name__ == "__main__":
    main()
