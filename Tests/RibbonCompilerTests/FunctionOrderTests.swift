import RibbonSyntax
import Testing

@testable import RibbonCompiler

/// Functions are numbered and laid out depth first from `main` (`functionOrder`), so the code a
/// run can reach sits together in the image.
@Suite struct FunctionOrderTests {
    static func order(_ text: String) throws -> [String] {
        let (program, diagnostics) = check(SourceFile(path: "order.rib", bytes: Array(text.utf8)))
        let checked = try #require(program, "\(diagnostics)")
        return functionOrder(of: checked).map { checked.functions[$0].name }
    }

    @Test func mainComesFirstThenWhatItCallsDepthFirst() throws {
        let order = try Self.order(
            """
            unused := fun () -> I64. 1
            leaf := fun (x: I64) -> I64. x + 1
            left := fun (x: I64) -> I64. leaf x
            right := fun (x: I64) -> I64.
                if x > 0. right (x - 1) else. leaf x
            helper := fun () -> I64. unused ()
            main := fun () -> I64.
                print (left 1 + right 2)
                0
            """)
        // `right` is reached from `main`, `leaf` first from `left`; `unused` and `helper` are not
        // reached, and follow in declaration order, each followed by what it calls.
        #expect(order == ["main", "left", "leaf", "right", "unused", "helper"])
    }

    @Test func withoutMainTheOrderFollowsDeclarationsAndTheirCalls() throws {
        let order = try Self.order(
            """
            a := fun () -> I64. c ()
            b := fun () -> I64. 2
            c := fun () -> I64. b ()
            """)
        #expect(order == ["a", "c", "b"])
    }

    /// Calls inside loops, branches, arguments, index expressions and assignments all count.
    @Test func callsAnywhereInABodyAreFollowed() throws {
        let order = try Self.order(
            """
            g0 := fun () -> I64. 0
            g1 := fun () -> I64. 1
            g2 := fun () -> I64. 2
            g3 := fun () -> I64. 3
            g4 := fun () -> Bool. true
            total := 0
            main := fun () -> I64.
                xs := array 4 0
                while g4 ().
                    xs[g0 ()] = g1 ()
                    total = total + xs[g2 ()]
                    if total > 3. return g3 ()
                0
            """)
        #expect(Set(order.prefix(6)) == ["main", "g0", "g1", "g2", "g3", "g4"])
        #expect(order.first == "main")
    }
}
