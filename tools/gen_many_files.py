#!/usr/bin/env python3
"""Generate a Ribbon Core program of many files (for the loader's and the cache's benchmarks
and tests: many units, one transaction; deep `use` chains).

usage: gen_many_files.py --shape fan|chain --files N [--functions F] -o DIR

  fan    DIR/main.rib uses DIR/lib/m0001.rib ... mNNNN.rib (N files, each used once, by main).
  chain  DIR/main.rib uses DIR/c00001.rib, which uses c00002.rib, ... down to cNNNNN.rib: a
         `use` chain N files deep (N + 1 with main).

Every used file defines F functions (default 3) whose names are unique in the program, and a
global. In a chain, one function of each file calls a function of the file it uses and reads its
global, so every unit is linked to the one below it, but the program's call depth stays small. `main` prints a
checksum over every file (fan) or the chain's top (chain). Deterministic; prints DIR/main.rib."""
import argparse
import os


def library_functions(tag, index, count):
    """`count` small functions named `<tag>_<k>` (k < count), each from I64 to I64. No loops:
    the interpreter's tier-up fuel is shared by every loop of a run, so loops spread over a
    thousand files would make a few different functions hot in every run (each warm run would
    then compile and store their machine code)."""
    lines = []
    for k in range(count):
        lines += [
            "%s_%d := fun (x: I64) -> I64." % (tag, k),
            "    s := (x * 31 + %d) %% 1000003" % (index * 7 + k),
            "    if s > 500000.",
            "        s = s - %d" % (index % 1000 + k),
            "    else.",
            "        s = s * 3 + %d" % k,
            "    s % 1000",
            "",
        ]
    return lines


def fan(out, files, functions):
    os.makedirs(os.path.join(out, "lib"), exist_ok=True)
    width = max(4, len(str(files)))
    main = [";; %d files used by this one (tools/gen_many_files.py --shape fan)" % files]
    for i in range(1, files + 1):
        name = "m%0*d" % (width, i)
        main.append('use "lib/%s.rib"' % name)
        body = [";; file %d of %d" % (i, files), "%s_g := %d" % (name, i * 7 % 1000), ""]
        body += library_functions(name, i, functions)
        with open(os.path.join(out, "lib", name + ".rib"), "w") as f:
            f.write("\n".join(body))
    main += ["", "main := fun () -> I64.", "    total := 0"]
    for i in range(1, files + 1):
        name = "m%0*d" % (width, i)
        main.append("    total = (total + %s_0 %d + %s_g) %% 1000003" % (name, i, name))
    main += ["    print total", "    0", ""]
    with open(os.path.join(out, "main.rib"), "w") as f:
        f.write("\n".join(main))


def chain(out, files, functions):
    os.makedirs(out, exist_ok=True)
    width = max(5, len(str(files)))
    name = lambda i: "c%0*d" % (width, i)
    for i in range(1, files + 1):
        here = name(i)
        body = [";; file %d of a %d-deep chain (tools/gen_many_files.py --shape chain)" % (i, files)]
        if i < files:
            below = name(i + 1)
            body += ['use "%s.rib"' % below]
        body += ["", "%s_g := %d" % (here, i)]
        body.append("")
        body += library_functions(here, i, functions)
        if i < files:
            # Calls into the file below: every unit imports from the next.
            body += ["%s_top := fun (x: I64) -> I64." % here, "    %s_0 x + %s_1 x + %s_g" % (below, here, below), ""]
        with open(os.path.join(out, here + ".rib"), "w") as f:
            f.write("\n".join(body))
    first = name(1)
    top = "%s_top 5" % first if files > 1 else "%s_0 5" % first
    main = [";; the top of a %d-deep `use` chain" % files, 'use "%s.rib"' % first, "",
            "main := fun () -> I64.", "    print %s_g" % first, "    print (%s)" % top, "    0", ""]
    with open(os.path.join(out, "main.rib"), "w") as f:
        f.write("\n".join(main))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", choices=["fan", "chain"], required=True)
    ap.add_argument("--files", type=int, required=True)
    ap.add_argument("--functions", type=int, default=3)
    ap.add_argument("-o", required=True, metavar="DIR")
    a = ap.parse_args()
    if a.files < 1 or a.functions < 2:
        ap.error("--files must be at least 1 and --functions at least 2")
    (fan if a.shape == "fan" else chain)(a.o, a.files, a.functions)
    print(os.path.join(a.o, "main.rib"))


if __name__ == "__main__":
    main()
