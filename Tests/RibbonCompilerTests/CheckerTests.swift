import RibbonSyntax
import Testing

@testable import RibbonCompiler

/// `LINE:COL: message` for every diagnostic of `source`.
func errors(_ source: String) -> [String] {
    let (program, diagnostics) = check(SourceFile(path: "t.rib", text: source))
    #expect((program == nil) == !diagnostics.isEmpty)
    return diagnostics.map { "\($0.location): \($0.message)" }
}

/// The program of `source`, which must check cleanly.
func program(_ source: String) -> CheckedProgram? {
    let (program, diagnostics) = check(SourceFile(path: "t.rib", text: source))
    #expect(diagnostics.isEmpty, "\(diagnostics)")
    return program
}

/// The errors of a `main` whose body is `body` (indented by the caller).
func mainErrors(_ body: String) -> [String] {
    errors("main := fun () -> I64.\n" + body + "\n    0\n")
}

@Suite struct CheckerTests {
    // MARK: Programs that check

    @Test func checkedProgramShape() throws {
        let checked = try #require(program("""
            limit := 10
            scale := 2.5
            add := fun (a: I64, b: I64) -> I64.
                a + b
            c_abs := foreign "labs" (x: I64) -> I64
            use "lib.rib"
            main := fun () -> I64.
                x := add limit 2
                if x > 3. print scale
                c_abs (0 - x)
            """))
        #expect(checked.globals.map(\.name) == ["limit", "scale"])
        #expect(checked.globals.map(\.initialValue) == [.i64(10), .f64(2.5)])
        #expect(checked.functions.map(\.name) == ["add", "main"])
        #expect(checked.mainFunction == 1)
        #expect(checked.foreigns.map(\.symbol) == ["labs"])
        #expect(checked.uses.map(\.path) == ["lib.rib"])
        #expect(checked.uses.map(\.line) == [6])

        let add = checked.functions[0]
        #expect(add.parameterCount == 2)
        #expect(checked.localTypes(of: add) == [.i64, .i64])
        #expect(checked.localNames(of: add) == ["a", "b"])
        #expect(add.line == 3)
        guard case .binary(.addI64, let left, _)? = checked.result(of: add.body)?.kind, case .local(0) = checked[left].kind else {
            Issue.record("add's body should be a + b")
            return
        }
        // A binary expression sits at its operator.
        #expect(checked.result(of: add.body)?.line == 4)
        #expect(checked.result(of: add.body)?.column == 7)

        let main = checked.functions[1]
        #expect(checked.localTypes(of: main) == [.i64])
        #expect(checked.statementList(main.body).map(\.line) == [8, 9])
        guard case .declare(0, let call) = checked.statementList(main.body)[0].kind,
            case .call(function: 0, let arguments) = checked[call].kind,
            case .global(0) = checked.argumentList(arguments)[0].kind
        else {
            Issue.record("x := add limit 2")
            return
        }
        guard case .expression(let ifExpression) = checked.statementList(main.body)[1].kind,
            case .ifElse(_, let then, nil) = checked[ifExpression].kind,
            case .expression(let printCall) = checked.statementList(then).first?.kind,
            case .builtin(.printF64, _) = checked[printCall].kind
        else {
            Issue.record("if x > 3. print scale")
            return
        }
        guard case .callForeign(foreign: 0, _)? = checked.result(of: main.body)?.kind else {
            Issue.record("c_abs call")
            return
        }
    }

    @Test func topLevelNamesAreVisibleInAnyOrder() {
        #expect(errors("""
            is_even := fun (n: I64) -> Bool.
                if n == 0. true
                else. is_odd (n - 1)
            is_odd := fun (n: I64) -> Bool.
                if n == 0. false
                else. is_even (n - 1)
            f := fun () -> I64. g
            g := 3
            """) == [])
    }

    @Test func builtinOverloads() throws {
        let checked = try #require(program("""
            main := fun () -> I64.
                print 1; print 1.0; print true; print "s"
                write 1; write 1.0; write false; write "s"
                a := array 3 0; b := array 3 0.0; c := array 3 false
                n := len a + len b + len c
                f := float n; i := int f; r := sqrt f + floor f + abs f
                j := abs i + band 1 2 + bor 1 2 + bxor 1 2 + shl 1 2 + shr 8 1
                clock ()
            """))
        var builtins: [BuiltinFunction] = []
        func collect(_ expression: CheckedExpressionID) {
            switch checked[expression].kind {
            case .builtin(let function, let arguments):
                builtins.append(function)
                checked.arguments(arguments).forEach(collect)
            case .binary(_, let left, let right):
                collect(left)
                collect(right)
            default: break
            }
        }
        for statement in checked.statementList(checked.functions[0].body) {
            switch statement.kind {
            case .expression(let expression), .declare(_, let expression): collect(expression)
            default: break
            }
        }
        checked[checked.functions[0].body].result.map(collect)
        #expect(Set(builtins) == Set(BuiltinFunction.allCases))
        #expect(checked.localTypes(of: checked.functions[0]) == [.arrayI64, .arrayF64, .arrayBool, .i64, .f64, .i64, .f64, .i64])
    }

    @Test func operatorsAreTyped() throws {
        let checked = try #require(program("""
            f := fun (a: I64, b: I64, x: F64, y: F64, p: Bool, q: Bool) -> Bool.
                s := a + b - a * b / a % b
                t := x + y - x * y / y
                u := -a; v := -x
                w := a == b and a != b and a < b and a <= b and a > b and a >= b
                z := x == y or x != y or x < y or x <= y or x > y or x >= y
                not p == q and p != q
            """))
        #expect(checked.localTypes(of: checked.functions[0]).suffix(6) == [.i64, .f64, .i64, .f64, .bool, .bool])
        // `not` is looser than `==` and tighter than `and`: (not (p == q)) and (p != q).
        guard case .and(let left, let right)? = checked.result(of: checked.functions[0].body)?.kind,
            case .unary(.not, let equal) = checked[left].kind, case .binary(.eqBool, _, _) = checked[equal].kind,
            case .binary(.neBool, _, _) = checked[right].kind
        else {
            Issue.record("(not (p == q)) and (p != q)")
            return
        }
    }

    @Test func integerLimits() throws {
        let checked = try #require(program("""
            low := -9223372036854775808
            high := 9_223_372_036_854_775_807
            wrapped := 9_223_372_036_854_775_807 + 1
            quotient := -9223372036854775808 / -1
            remainder := -7 % 2
            hex := 0x7FFF_FFFF_FFFF_FFFF
            f := fun () -> I64. -9223372036854775808
            g := fun () -> I64. 9_223_372_036_854_775_807 + 1
            """))
        #expect(checked.globals.map(\.initialValue) == [
            .i64(.min), .i64(.max), .i64(.min), .i64(.min), .i64(-1), .i64(.max),
        ])
        guard case .intLiteral(.min)? = checked.result(of: checked.functions[0].body)?.kind else {
            Issue.record("-9223372036854775808 is a literal")
            return
        }
    }

    @Test func constantGlobals() throws {
        let checked = try #require(program("""
            a := 2 * (3 + 4)
            b := -1.5 * 2.0
            c := not true or 1 < 2
            d := "text\\n"
            e := 1.0 / 0.0
            """))
        #expect(checked.globals.map(\.initialValue) == [.i64(14), .f64(-3.0), .bool(true), .str(Array("text\n".utf8)), .f64(.infinity)])
        #expect(checked.globals.map(\.type) == [.i64, .f64, .bool, .str, .f64])
    }

    @Test func divergingBlocksHaveNoResult() throws {
        let checked = try #require(program("""
            f := fun (n: I64) -> I64.
                if n < 2. return n
                else. f (n - 1)
            g := fun (n: I64) -> I64.
                while true.
                    if n > 10. return n
                    n = n + 1
            h := fun (n: I64) -> I64.
                if n < 0.
                    return 0
                else.
                    return 1
            k := fun (n: I64) -> I64.
                return n
            """))
        guard case .ifElse(_, let then, let otherwise)? = checked.result(of: checked.functions[0].body)?.kind else {
            Issue.record("f ends in if/else")
            return
        }
        #expect(checked[then].result == nil)
        #expect(otherwise.flatMap { checked[$0].result } != nil)
        #expect(checked[checked.functions[2].body].result == nil)
    }

    @Test func elseIfChainsNest() throws {
        let checked = try #require(program("""
            sign := fun (n: I64) -> I64.
                if n < 0. -1
                else if n == 0. 0
                else. 1
            """))
        guard case .ifElse(_, _, let otherwise?)? = checked.result(of: checked.functions[0].body)?.kind,
            case .ifElse(_, _, let last?)? = checked.result(of: otherwise)?.kind, checked[last].result != nil
        else {
            Issue.record("else if nests in the else block's result")
            return
        }
    }

    @Test func shadowingDeclaresNewSlots() throws {
        let checked = try #require(program("""
            f := fun (x: I64) -> F64.
                x := float x
                if true.
                    x := 1
                    print x
                x
            """))
        #expect(checked.localTypes(of: checked.functions[0]) == [.i64, .f64, .i64])
        #expect(checked.localNames(of: checked.functions[0]) == ["x", "x", "x"])
        guard case .local(1)? = checked.result(of: checked.functions[0].body)?.kind else {
            Issue.record("the block's x is slot 1 again after the inner scope")
            return
        }
    }

    @Test func unitFunctionDropsLastValue() throws {
        let checked = try #require(program("f := fun (x: I64).\n    x + 1\n"))
        #expect(checked.functions[0].resultType == .unit)
        #expect(checked[checked.functions[0].body].result == nil)
        #expect(checked[checked.functions[0].body].statements.count == 1)
    }

    @Test func expressionPositions() throws {
        let checked = try #require(program("f := fun (xs: Array I64) -> I64.\n    len xs + xs[0]\n"))
        guard case .binary(_, let left, let right)? = checked.result(of: checked.functions[0].body)?.kind else { return }
        #expect((checked[left].line, checked[left].column) == (2, 5))
        #expect((checked[right].line, checked[right].column) == (2, 16))
    }

    // MARK: Errors

    @Test func typeErrorExample() {
        #expect(mainErrors("""
                x := 1
                y := x + 2.0
                print y
                z := 3
                undefined_name z
            """) == [
                "3:12: `+` needs two I64 or two F64 operands, got I64 and F64",
                "6:5: undefined name `undefined_name`",
            ])
    }

    @Test func operatorErrors() {
        #expect(mainErrors("    a := 1 + 2.0") == ["2:12: `+` needs two I64 or two F64 operands, got I64 and F64"])
        #expect(mainErrors("    a := true < false") == ["2:15: `<` needs two I64 or two F64 operands, got Bool and Bool"])
        #expect(mainErrors("    a := 1.5 % 2.0") == ["2:14: `%` needs two I64 operands, got F64 and F64"])
        #expect(mainErrors("    a := \"a\" == \"b\"") == ["2:14: `==` needs two operands of the same type, I64, F64 or Bool, got Str and Str"])
        #expect(mainErrors("    a := 1 and true") == ["2:12: `and` needs two Bool operands, got I64 and Bool"])
        #expect(mainErrors("    a := not 1") == ["2:10: `not` needs a Bool operand, not I64"])
        #expect(mainErrors("    a := -true") == ["2:10: prefix `-` needs an I64 or F64 operand, not Bool"])
        #expect(mainErrors("    a := 1 < 2 < 3") == ["2:16: comparison operators cannot be chained; use parentheses or `and`"])
    }

    @Test func noCascades() {
        // One mistake, one error: the error type agrees with everything downstream.
        #expect(mainErrors("""
                y := 1 + 2.0
                z := y * 3.0 + y
                print (sqrt z)
                w := if y. z else. 1
                y = "s"
            """) == ["2:12: `+` needs two I64 or two F64 operands, got I64 and F64"])
        #expect(mainErrors("    x := nope + 1\n    print (x * 2)") == ["2:10: undefined name `nope`"])
        // A broken declaration's name stays defined.
        #expect(errors("f := fun (x: I64 -> I64.\n    x\nmain := fun () -> I64.\n    f 1\n").count == 1)
        #expect(mainErrors("    x := (1 +\n    x") == ["2:14: expected an expression, found end of line"])
    }

    @Test func literalErrors() {
        #expect(mainErrors("    a := 9223372036854775808") == ["2:10: integer literal 9223372036854775808 does not fit in I64 (the largest is 9223372036854775807)"])
        #expect(mainErrors("    a := 99999999999999999999") == ["2:10: integer literal does not fit in I64"])
        #expect(mainErrors("    a := 0x8000_0000_0000_0000") == ["2:10: integer literal 9223372036854775808 does not fit in I64 (the largest is 9223372036854775807)"])
        #expect(mainErrors("    a := -9223372036854775809") == ["2:11: integer literal 9223372036854775809 does not fit in I64 (the largest is 9223372036854775807)"])
        #expect(mainErrors("    a := 1e400") == ["2:10: float literal `1e400` is out of range"])
        #expect(mainErrors("    a := 1__0") == ["2:10: malformed number `1__0`"])
        #expect(mainErrors("    a := \"abc") == ["2:10: unterminated string literal"])
        #expect(mainErrors("    a := \"\\q\"") == ["2:11: invalid escape sequence `\\q`"])
        #expect(mainErrors("\tprint 1") == ["2:1: tab in indentation (indent with spaces)"])
    }

    @Test func controlFlowErrors() {
        #expect(errors("f := fun ().\n    break\n    continue\n") == ["2:5: `break` outside a loop", "3:5: `continue` outside a loop"])
        #expect(errors("f := fun ().\n    return 1\n") == ["2:12: `f` has no result type, so `return` takes no value"])
        #expect(errors("f := fun () -> I64.\n    return\n") == ["2:5: `return` needs a value: `f` returns I64"])
        #expect(errors("f := fun () -> I64.\n    return true\n") == ["2:12: `f` returns I64, but this value has type Bool"])
        #expect(errors("f := fun () -> I64.\n    if true. 1\n") == ["1:16: `f` must produce a value of type I64 on every path (end the body with one, or `return` it)"])
        #expect(errors("f := fun () -> I64.\n    x := 1\n") == ["1:16: `f` must produce a value of type I64 on every path (end the body with one, or `return` it)"])
        #expect(errors("f := fun () -> I64.\n    2.0\n") == ["2:5: `f` returns I64, but its body ends with a value of type F64"])
        #expect(errors("f := fun () -> I64.\n    while true. break\n") == ["1:16: `f` must produce a value of type I64 on every path (end the body with one, or `return` it)"])
        #expect(errors("f := fun (n: I64) -> I64.\n    if n. 1 else. 2\n") == ["2:8: condition must be Bool, not I64"])
        #expect(errors("f := fun (n: I64).\n    while n. n = 0\n") == ["2:11: condition must be Bool, not I64"])
        #expect(errors("f := fun (n: I64) -> I64.\n    if n > 0. 1 else. 2.0\n") == ["2:5: `if` and `else` branches have different types: I64 and F64"])
    }

    @Test func nameErrors() {
        #expect(errors("f := fun () -> I64. 1\nf := 2\n") == ["2:1: `f` is already defined at 1:1"])
        #expect(errors("print := 1\n") == ["1:1: `print` is a built-in function and cannot be redefined"])
        #expect(errors("f := fun (len: I64). 1\n") == ["1:11: `len` is a built-in function and cannot be used as a name"])
        #expect(errors("f := fun ().\n    abs := 1\n") == ["2:5: `abs` is a built-in function and cannot be used as a name"])
        #expect(errors("f := fun (a: I64, a: I64). 1\n") == ["1:19: duplicate parameter `a`"])
        #expect(errors("f := fun ().\n    f = 1\n") == ["2:5: cannot assign to `f`: it is a function"])
        #expect(errors("f := fun ().\n    print = 1\n") == ["2:5: cannot assign to `print`: it is a built-in function"])
        #expect(errors("f := fun ().\n    y = 1\n") == ["2:5: undefined name `y` (declare a variable with `y := ...`)"])
        #expect(errors("g := 1\nf := fun ().\n    g = 1.0\n") == ["3:9: cannot assign a value of type F64 to `g`, which has type I64"])
        #expect(errors("f := fun ().\n    x := 1\n    if true.\n        y := 2\n    y\n") == ["5:5: undefined name `y`"])
    }

    @Test func callErrors() {
        let header = "f := fun (a: I64, b: F64) -> I64. a\nz := fun () -> I64. 0\ng := 1\n"
        func callErrors(_ line: String) -> [String] { errors(header + "main := fun () -> I64.\n    \(line)\n    0\n") }
        #expect(callErrors("f 1") == ["5:5: `f` takes 2 arguments, got 1"])
        #expect(callErrors("f 1 2.0 3") == ["5:5: `f` takes 2 arguments, got 3"])
        #expect(callErrors("f 1.0 2.0") == ["5:7: argument 1 of `f` must be I64, not F64"])
        #expect(callErrors("print f") == ["5:11: `f` is a function: call it with its arguments (`f ()` when it takes none)"])
        #expect(callErrors("z 1") == ["5:5: `z` takes no arguments: call it as `z ()`"])
        #expect(callErrors("z ()") == [])
        #expect(callErrors("g 1") == ["5:5: `g` is a global of type I64, not a function"])
        #expect(callErrors("x := 1; x 2") == ["5:13: `x` is a variable of type I64, not a function"])
        #expect(callErrors("(1 + 2) 3") == ["5:8: a value of type I64 is not a function and cannot be applied to arguments"])
        #expect(callErrors("h 1") == ["5:5: undefined name `h`"])
        #expect(callErrors("1[0]") == ["5:6: cannot index a value of type I64"])
        #expect(callErrors("a := array 2 0; a[1.0]") == ["5:23: an array index must be I64, not F64"])
        #expect(callErrors("a := array 2 0; a[0] = true") == ["5:28: cannot store a value of type Bool in an array of I64"])
    }

    @Test func builtinErrors() {
        #expect(mainErrors("    print ()") == ["2:11: the argument of `print` must be I64, F64, Bool or Str, not Unit"])
        #expect(mainErrors("    print (array 1 0)") == ["2:12: the argument of `print` must be I64, F64, Bool or Str, not Array I64"])
        #expect(mainErrors("    print 1 2") == ["2:5: `print` takes 1 argument, got 2"])
        #expect(mainErrors("    a := array 1.0 0") == ["2:16: argument 1 of `array` must be I64 (the length), not F64"])
        #expect(mainErrors("    a := array 1 \"s\"") == ["2:18: argument 2 of `array` must be I64, F64 or Bool (the initial element), not Str"])
        #expect(mainErrors("    a := len 1") == ["2:14: the argument of `len` must be an array, not I64"])
        #expect(mainErrors("    a := float 1.0") == ["2:16: the argument of `float` must be I64, not F64"])
        #expect(mainErrors("    a := int 1") == ["2:14: the argument of `int` must be F64, not I64"])
        #expect(mainErrors("    a := sqrt 1") == ["2:15: the argument of `sqrt` must be F64, not I64"])
        #expect(mainErrors("    a := band 1 true") == ["2:17: argument 2 of `band` must be I64, not Bool"])
        #expect(mainErrors("    a := clock 1") == ["2:10: `clock` takes no arguments: call it as `clock ()`"])
        #expect(mainErrors("    a := print") == ["2:10: `print` is a built-in function: call it with its arguments"])
        #expect(mainErrors("    a := print 1") == ["2:10: cannot declare `a` with a value of type Unit"])
    }

    @Test func declarationErrors() {
        #expect(errors("main := fun (x: I64) -> I64. x\n") == ["1:1: `main` must be declared as `fun () -> I64`"])
        #expect(errors("main := fun ().\n    print 1\n") == ["1:1: `main` must be declared as `fun () -> I64`"])
        #expect(errors("main := 3\n") == ["1:1: `main` must be a function declared as `fun () -> I64`"])
        #expect(errors("g := limit\nlimit := 1\n") == ["1:6: a global's initial value must be a constant expression (literals and operators on them)"])
        #expect(errors("g := ()\n") == ["1:6: a global cannot have type Unit"])
        #expect(errors("g := 1 / 0\n") == ["1:8: division by zero in a constant expression"])
        #expect(errors("g := 1 + 2.0\n") == ["1:8: `+` needs two I64 or two F64 operands, got I64 and F64"])
        #expect(errors("f := fun (x: Foo). 1\n") == ["1:14: unknown type `Foo`"])
        #expect(errors("f := fun (x: Array). 1\n") == ["1:14: `Array` needs an element type: `Array I64`, `Array F64` or `Array Bool`"])
        #expect(errors("f := fun (x: Array Str). 1\n") == ["1:14: arrays of `Str` are not supported: use `Array I64`, `Array F64` or `Array Bool`"])
        #expect(errors("f := fun (x: Unit). 1\n") == ["1:14: a parameter cannot have type Unit"])
    }

    @Test func foreignErrors() {
        #expect(errors("f := foreign \"f\" (x: Array I64) -> I64\n") == ["1:22: a foreign function's parameter must be I64, F64, Bool or Str, not Array I64"])
        #expect(errors("f := foreign \"f\" (x: I64) -> Unit\n") == ["1:30: a foreign function's result must be I64, F64, Bool or Str, not Unit"])
        #expect(errors("f := foreign \"f\" (x: I64)\n") == ["1:6: a foreign function must declare its result type (`-> I64`, `F64`, `Bool` or `Str`)"])
        let sixIntegers = (1...6).map { "a\($0): I64" }.joined(separator: ", ")
        #expect(errors("f := foreign \"f\" (\(sixIntegers)) -> I64\n") == [])
        #expect(errors("f := foreign \"f\" (\(sixIntegers), s: Str) -> I64\n").first?.contains("at most 6 integer-class") == true)
        let eightFloats = (1...8).map { "x\($0): F64" }.joined(separator: ", ")
        #expect(errors("f := foreign \"f\" (\(eightFloats), b: Bool) -> F64\n") == [])
        #expect(errors("f := foreign \"f\" (\(eightFloats), y: F64) -> F64\n").first?.contains("at most 8 F64") == true)
    }

    @Test func severalErrorsAtOnceSortedByPosition() {
        let found = errors("""
            f := fun () -> I64.
                x := 1 + true
                x
            g := fun ().
                break
            h := fun () -> I64.
                y := (1
            k := fun () -> Bool.
                nope
            """)
        #expect(found == [
            "2:12: `+` needs two I64 or two F64 operands, got I64 and Bool",
            "5:5: `break` outside a loop",
            "7:12: expected `)`, found end of line",
            "9:5: undefined name `nope`",
        ])
        #expect(found.count >= 4)
        let lines = found.map { Int($0.split(separator: ":")[0])! }
        #expect(lines == lines.sorted())
    }

    @Test func deepExpressionsCheckWithoutCrashing() {
        let sum = "x := a" + String(repeating: " + a", count: 150)
        #expect(errors("f := fun (a: I64) -> I64.\n    \(sum)\n    x\n") == [])
        let nested = String(repeating: "(", count: 150) + "1" + String(repeating: ")", count: 150)
        #expect(errors("f := fun () -> I64. \(nested)\n") == [])
        let tooDeep = "x := a" + String(repeating: " + a", count: 100_000)
        #expect(errors("f := fun (a: I64) -> I64.\n    \(tooDeep)\n    x\n").count == 1)
    }
}

/// Readable accessors for the index-based checked tree.
extension CheckedProgram {
    /// A block's result expression, if it has one.
    func result(of block: CheckedBlockID) -> CheckedExpression? {
        self[block].result.map { self[$0] }
    }

    /// A block's statements, in order.
    func statementList(_ block: CheckedBlockID) -> [CheckedStatement] {
        Array(statements(of: self[block]))
    }

    /// A call's argument expressions, in order.
    func argumentList(_ range: Range<Int32>) -> [CheckedExpression] {
        arguments(range).map { self[$0] }
    }
}
