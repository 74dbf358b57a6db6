import Testing

@testable import RibbonSyntax

/// Parses `source` and prints its tree compactly: `(+ a b)`, `(call f x)`, `(index a i)`,
/// `(if c {then} {else})`, statements separated by `; `.
struct Printed {
    let file: SourceFileSyntax
    let diagnostics: [Diagnostic]

    init(_ source: String) {
        (file, diagnostics) = parse(SourceFile(path: "t.rib", text: source))
    }

    var messages: [String] { diagnostics.map { "\($0.location): \($0.message)" } }

    func expression(_ id: ExpressionID) -> String {
        let syntax = file[id]
        return switch syntax.kind {
        case .integer(let value): "\(value)"
        case .float(let value): "\(value)"
        case .string(let index): "\"\(String(decoding: file.string(index), as: UTF8.self))\""
        case .bool(let value): "\(value)"
        case .unit: "()"
        case .name(let name): file.names[name]
        case .negate(let operand): "(neg \(expression(operand)))"
        case .not(let operand): "(not \(expression(operand)))"
        case .binary(let op, let left, let right): "(\(op.spelling) \(expression(left)) \(expression(right)))"
        case .apply(let callee, let arguments): "(call \(([callee] + file.arguments(arguments)).map(expression).joined(separator: " ")))"
        case .index(let array, let index): "(index \(expression(array)) \(expression(index)))"
        case .ifElse(let syntax):
            "(if \(expression(syntax.condition)) \(block(syntax.then))\(syntax.otherwise.map { " " + block($0) } ?? ""))"
        case .invalid: "<invalid>"
        }
    }

    func block(_ id: BlockID) -> String {
        "{" + file.statements(of: file[id]).map(statement).joined(separator: "; ") + "}"
    }

    func statement(_ syntax: StatementSyntax) -> String {
        switch syntax.kind {
        case .expression(let value): expression(value)
        case .declare(let name, let value): "\(file.names[name.name]) := \(expression(value))"
        case .assign(let target, let value): "\(expression(target)) = \(expression(value))"
        case .whileLoop(let condition, let body): "while \(expression(condition)) \(block(body))"
        case .returnValue(let value): "return" + (value.map { " " + expression($0) } ?? "")
        case .breakLoop: "break"
        case .continueLoop: "continue"
        }
    }

    /// Every declaration, one string each.
    var declarations: [String] {
        file.declarations.map { declaration in
            switch declaration {
            case .use(let path, _): "use \(String(decoding: path, as: UTF8.self))"
            case .function(let name, let function):
                "\(file.names[name.name]) fun(\(file.parameters(function.parameters).map { "\(file.names[$0.name.name]): \(file.names[$0.type.name])\($0.type.element.map { " " + file.names[$0] } ?? "")" }.joined(separator: ", ")))"
                    + (function.result.map { " -> \(file.names[$0.name])" } ?? "") + " " + block(function.body)
            case .foreign(let name, let foreign):
                "\(file.names[name.name]) foreign \(String(decoding: foreign.symbol, as: UTF8.self)) \(foreign.parameters.count)"
            case .global(let name, let value): "\(file.names[name.name]) = \(expression(value))"
            case .invalid(let name): "\(file.names[name.name]) invalid"
            }
        }
    }
}

/// The tree of one expression, parsed as a global's initialiser.
func tree(_ expression: String) -> String {
    let printed = Printed("x := \(expression)")
    #expect(printed.diagnostics.isEmpty, "\(expression): \(printed.messages)")
    return String(printed.declarations.first?.dropFirst(4) ?? "")
}

/// The body of `f := fun (). BODY` as printed.
func body(_ source: String) -> (String, [String]) {
    let printed = Printed("f := fun ().\n" + source)
    let text = printed.declarations.first ?? ""
    return (String(text.drop { $0 != "{" }), printed.messages)
}

@Suite struct ParserTests {
    @Test func precedenceLevels() {
        #expect(tree("a or b and c") == "(or a (and b c))")
        #expect(tree("a and b or c") == "(or (and a b) c)")
        #expect(tree("not a and b") == "(and (not a) b)")
        #expect(tree("not a == b") == "(not (== a b))")
        #expect(tree("a == b < c") == "(== a (< b c))")
        #expect(tree("a != b") == "(!= a b)")
        #expect(tree("a < b + c") == "(< a (+ b c))")
        #expect(tree("a <= b") == "(<= a b)")
        #expect(tree("a > b") == "(> a b)")
        #expect(tree("a >= b") == "(>= a b)")
        #expect(tree("a + b * c") == "(+ a (* b c))")
        #expect(tree("a - b / c % d") == "(- a (% (/ b c) d))")
        #expect(tree("-a * b") == "(* (neg a) b)")
        #expect(tree("- f x") == "(neg (call f x))")
        #expect(tree("f x[i]") == "(call f (index x i))")
        #expect(tree("xs[i][j]") == "(index (index xs i) j)")
    }

    @Test func leftAssociativity() {
        #expect(tree("a - b - c") == "(- (- a b) c)")
        #expect(tree("a / b * c") == "(* (/ a b) c)")
        #expect(tree("a == b == c") == "(== (== a b) c)")
        #expect(tree("a or b or c") == "(or (or a b) c)")
    }

    @Test func applicationBindsTighterThanOperators() {
        #expect(tree("fib n - 1") == "(- (call fib n) 1)")
        #expect(tree("fib (n - 1) + fib (n - 2)") == "(+ (call fib (- n 1)) (call fib (- n 2)))")
        #expect(tree("f ()") == "(call f ())")
        #expect(tree("array (n + 1) false") == "(call array (+ n 1) false)")
        #expect(tree("c_pow 2.0 10.0") == "(call c_pow 2.0 10.0)")
        #expect(tree("f -1") == "(- f 1)")
        #expect(tree("f \"s\" true 0x10") == "(call f \"s\" true 16)")
        #expect(tree("(f) x") == "(call f x)")
    }

    @Test func comparisonIsNonAssociative() {
        let printed = Printed("x := a < b < c")
        #expect(printed.messages == ["1:12: comparison operators cannot be chained; use parentheses or `and`"])
        #expect(tree("(a < b) == (b < c)") == "(== (< a b) (< b c))")
    }

    @Test func declarations() {
        let printed = Printed("""
            use "lib/geometry.rib"
            limit := 1_000
            add := fun (a: I64, b: Array F64) -> I64.
                a
            puts := foreign "puts" (s: Str) -> I64
            noop := fun (x: I64). x
            """)
        #expect(printed.diagnostics.isEmpty, "\(printed.messages)")
        #expect(printed.declarations == [
            "use lib/geometry.rib",
            "limit = 1000",
            "add fun(a: I64, b: Array F64) -> I64 {a}",
            "puts foreign puts 1",
            "noop fun(x: I64) {x}",
        ])
    }

    @Test func statements() {
        let (text, messages) = body("""
                x := 1
                x = x + 1; xs[0] = 2
                while x < 3. x = x + 1
                while true.
                    break
                    continue
                return
                return x
            """)
        #expect(messages.isEmpty)
        #expect(text == "{x := 1; x = (+ x 1); (index xs 0) = 2; while (< x 3) {x = (+ x 1)}; while true {break; continue}; return; return x}")
    }

    @Test func ifForms() {
        let (text, messages) = body("""
                if n < 2. return n
                else. f (n - 1)
                if a. b else. c
                if a.
                    b
                else if c.
                    d
                else.
                    e
                y := if a. 1 else. 2
                z := if a.
                    1
                else.
                    2
                if a. b
            """)
        #expect(messages.isEmpty, "\(messages)")
        #expect(text == "{(if (< n 2) {return n} {(call f (- n 1))}); (if a {b} {c}); (if a {b} {(if c {d} {e})}); y := (if a {1} {2}); z := (if a {1} {2}); (if a {b})}")
    }

    @Test func oneLineBodyIsOneStatement() {
        // `;` after a one-line body ends the whole `if`/`while`.
        let (text, _) = body("    if a. b; c\n    while d. e; f\n")
        #expect(text == "{(if a {b}); c; while d {e}; f}")
    }

    @Test func blankAndCommentLinesInsideBlocks() {
        let (text, messages) = body("""
                a

                    ;; a comment deeper than the block
            ;; and one at column 1
                b
            """)
        #expect(messages.isEmpty)
        #expect(text == "{a; b}")
    }

    @Test func syntaxErrorReportsOnceAndRecovers() {
        let printed = Printed("""
            main := fun () -> I64.
                print 1
                x := (1 + 2
                0
            """)
        #expect(printed.messages == ["3:16: expected `)`, found end of line"])
        // The broken declaration is kept as `x := <invalid>`.
        #expect(printed.declarations == ["main fun() -> I64 {(call print 1); x := <invalid>; 0}"])
    }

    @Test func severalErrorsInDifferentFunctions() {
        let printed = Printed("""
            f := fun (x: I64) -> I64.
                x +
            g := fun (x I64) -> I64.
                x
            h := fun () -> I64.
                1 2 )
            k := fun ().
                else. 1
            """)
        #expect(printed.messages == [
            "2:8: expected an expression, found end of line",
            "3:13: expected `:` after the parameter name, found `I64`",
            "6:9: expected end of line, found `)`",
            "8:5: `else` without a matching `if`",
        ])
        #expect(printed.declarations.contains("g invalid"))
    }

    @Test func headerWithoutDotSkipsItsBlock() {
        let printed = Printed("""
            f := fun () -> I64
                x := 1 +
                x
            g := fun (). 1
            """)
        #expect(printed.messages == ["1:19: expected `.` after the function header, found end of line"])
        #expect(printed.declarations == ["f invalid", "g fun() {1}"])
    }

    @Test func missingIndentedBlock() {
        let printed = Printed("f := fun ().\ng := fun (). 1\n")
        #expect(printed.messages == ["1:12: expected an indented block after `.`"])
        #expect(printed.declarations == ["f invalid", "g fun() {1}"])
    }

    @Test func unexpectedIndentation() {
        let printed = Printed("f := fun ().\n    a\n        b\n    c\n")
        #expect(printed.messages == ["3:9: unexpected indentation"])
        #expect(printed.declarations == ["f fun() {a; b; c}"])
        #expect(Printed("    x := 1\ny := 2").messages == ["1:5: unexpected indentation"])
    }

    @Test func topLevelErrors() {
        #expect(Printed("print 1").messages == ["1:1: expected a declaration (`name := ...` or `use \"path\"`), found `print`"])
        #expect(Printed("use 3").messages == ["1:5: expected a path string after `use`, found a number"])
        #expect(Printed("f := fun ().\n    g := fun (). 1").messages == ["2:10: functions can only be defined at the top level"])
        #expect(Printed("f := fun ().\n    1 = 2").messages == ["2:5: cannot assign to this expression"])
    }

    @Test func deepNestingIsReportedNotCrashed() {
        let parentheses = String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000)
        #expect(Printed("x := " + parentheses).messages.first?.hasSuffix("expression nested too deeply") == true)

        let chain = "x := a" + String(repeating: " + a", count: 100_000)
        #expect(Printed(chain).messages.count == 1)
        #expect(Printed(chain).messages.first?.hasSuffix("expression nested too deeply") == true)

        let indexes = "x := a" + String(repeating: "[0]", count: 50_000)
        #expect(Printed(indexes).messages.first?.hasSuffix("expression nested too deeply") == true)

        let negations = "x := " + String(repeating: "- ", count: 50_000) + "1"
        #expect(Printed(negations).messages.first?.hasSuffix("expression nested too deeply") == true)

        // Moderately deep input is fine.
        #expect(Printed("x := " + String(repeating: "(", count: 100) + "1" + String(repeating: ")", count: 100)).diagnostics.isEmpty)
        #expect(Printed("x := a" + String(repeating: " + a", count: 150)).diagnostics.isEmpty)
    }

    @Test func deeplyIndentedLines() {
        var source = "f := fun ().\n"
        for depth in 1...5_000 {
            source += String(repeating: " ", count: depth) + "if a.\n"
        }
        let printed = Printed(source)
        #expect(!printed.diagnostics.isEmpty)
    }
}

@Suite struct ParserTreeTableTests {
    /// A statement that fails halfway through an application, inside a block that is itself an
    /// argument: the half-built arguments must not leak into the enclosing application.
    @Test func brokenStatementInsideAnArgumentLeavesNoStrayArguments() {
        let printed = Printed("f := fun ().\n    g a (if b.\n        h c (1 +\n    ) e\n")
        #expect(printed.messages == ["3:17: expected an expression, found end of line"])
        #expect(printed.declarations == ["f fun() {(call g a (if b {<invalid>}) e)}"])
    }

    /// Every node of a block is in the tables, children before parents.
    @Test func nodesAreStoredChildrenFirst() {
        let printed = Printed("x := 1 + 2 * 3")
        let kinds = printed.file.expressions.map { expression -> String in
            switch expression.kind {
            case .integer(let value): "\(value)"
            case .binary(let op, _, _): op.spelling
            default: "?"
            }
        }
        #expect(kinds == ["1", "2", "3", "*", "+"])
    }
}
