import RibbonBytecode
import RibbonCore
import RibbonSyntax
import Testing

@testable import RibbonCompiler

/// Checking a file against the interfaces of the files it uses (LANGUAGE.md, "Files that use
/// other files"), and what the interface of a checked file is.
@Suite struct UseCheckerTests {
    /// The interface of `source`, which must check cleanly.
    func interface(_ source: String, path: String = "lib.rib") throws -> UnitInterface {
        let (program, diagnostics) = RibbonCompiler.check(SourceFile(path: path, text: source))
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        return try #require(program).interface
    }

    /// Checks `source` (as `main.rib`) with `used` as the files its `use`s name.
    func checkUsing(_ source: String, uses used: [String: (String, UnitInterface)]) -> (CheckedProgram?, [String]) {
        let parsed = ParsedFile(SourceFile(path: "main.rib", text: source))
        let (program, diagnostics) = RibbonCompiler.check(
            parsed, uses: used.mapValues { UsedUnit(displayPath: $0.0, interface: $0.1) })
        return (program, diagnostics.map { "\($0.location): \($0.message)" })
    }

    static let library = """
        count := 7
        name := "lib"
        labs_c := foreign "labs" (x: I64) -> I64
        twice := fun (x: I64) -> I64.
            x * 2
        hello := fun ().
            print name
        main := fun () -> I64.
            1
        """

    @Test func interfaceListsEveryNameButMainWithTypesAndPlaces() throws {
        let lib = try interface(Self.library)
        #expect(lib.definitions.map(\.name) == ["count", "name", "labs_c", "twice", "hello"])
        #expect(lib.definitions[0].entity == .global(.i64))
        #expect(lib.definitions[2].entity == .foreign(symbol: "labs", parameters: [.i64], result: .i64))
        #expect(lib.definitions[3].entity == .function(parameters: [.i64], result: .i64))
        #expect(lib.definitions[4].entity == .function(parameters: [], result: .unit))
        #expect(lib.definitions[3].location == SourceLocation(line: 4, column: 1))
        #expect(UnitInterface(encoded: lib.encoded()) == lib)
        // Damaged bytes decode to nil, never to a wrong interface or a crash.
        let bytes = lib.encoded()
        for length in 0..<bytes.count { #expect(UnitInterface(encoded: Array(bytes[0..<length])) == nil) }
    }

    @Test func usedNamesAreCheckedAndNumberedAfterTheFilesOwn() throws {
        let lib = try interface(Self.library)
        let (program, errors) = checkUsing(
            """
            use "lib.rib"
            own := fun () -> I64.
                count
            main := fun () -> I64.
                count = count + twice 3
                hello ()
                labs_c (0 - own ())
            """, uses: ["lib.rib": ("lib/lib.rib", lib)])
        #expect(errors.isEmpty)
        let checked = try #require(program)
        #expect(checked.functions.map(\.name) == ["own", "main"])
        #expect(checked.importedGlobals.map(\.entryName) == ["lib.rib:count"])
        #expect(checked.importedFunctions.map(\.entryName) == ["lib.rib:twice", "lib.rib:hello"])
        #expect(checked.foreigns.map(\.symbol) == ["labs"])
        // Lowered: the unit imports by name, each name once, and carries its own interface.
        let image = try #require(lower(checked).image)
        let unit = try LoadedUnit(
            image: image,
            resolver: SymbolResolver(
                builtin: { _ in 0x1000 }, foreign: { _ in 0x2000 },
                imported: { name, kind in ImportedSymbol(address: kind == .global ? 0x3000 : 0x4000, unit: nil, id: 0) }))
        #expect(unit.entryKinds.filter { $0 == .imported }.count == 3)
        #expect(Set(unit.importedKinds.values) == [.function, .global])
        #expect(unit.entryNames.values.contains("lib.rib:count"))
        #expect(UnitInterface(encoded: unit.interface)?.definitions.map(\.name) == ["own"])
    }

    @Test func typesOfUsedNamesAreEnforced() throws {
        let lib = try interface(Self.library)
        let (_, errors) = checkUsing(
            """
            use "lib.rib"
            main := fun () -> I64.
                count = 1.5
                twice "x"
                name
            """, uses: ["lib.rib": ("lib.rib", lib)])
        #expect(errors == [
            "3:13: cannot assign a value of type F64 to `count`, which has type I64",
            "4:11: argument 1 of `twice` must be I64, not Str",
            "5:5: `main` returns I64, but its body ends with a value of type Str",
        ])
    }

    @Test func aUsedFilesMainAndTheNamesItUsesAreNotVisible() throws {
        let mid = try interface("use \"leaf.rib\"\nshallow := 2\nmain := fun () -> I64.\n    shallow\n")
        #expect(mid.definitions.map(\.name) == ["shallow"])
        let (_, errors) = checkUsing(
            """
            use "mid.rib"
            f := fun () -> I64.
                deep + shallow
            main := fun () -> I64.
                f ()
            """, uses: ["mid.rib": ("mid.rib", mid)])
        #expect(errors == ["3:5: undefined name `deep`"])
    }

    @Test func aNameDefinedTwiceIsAnErrorNamingBothPlaces() throws {
        let lib = try interface(Self.library)
        let other = try interface("x := 1\ntwice := fun (y: F64) -> F64.\n    y\n")
        // This file and a used one.
        let (_, own) = checkUsing("use \"lib.rib\"\ntwice := 3\n", uses: ["lib.rib": ("lib/lib.rib", lib)])
        #expect(own == ["2:1: `twice` is already defined in lib/lib.rib:4:1, which this file uses"])
        // Two used files: at the second `use`, whether or not this file mentions the name.
        let (_, two) = checkUsing(
            "use \"lib.rib\"\nuse \"other.rib\"\n", uses: ["lib.rib": ("lib.rib", lib), "other.rib": ("other.rib", other)])
        #expect(two == ["2:1: `twice` is defined both in lib.rib:4:1 and in other.rib:2:1, which this file uses"])
        // One file used twice (by two paths that name it) is one file.
        let (program, again) = checkUsing(
            "use \"lib.rib\"\nuse \"./lib.rib\"\nmain := fun () -> I64.\n    twice count\n",
            uses: ["lib.rib": ("lib.rib", lib), "./lib.rib": ("lib.rib", lib)])
        #expect(again.isEmpty)
        #expect(program?.importedFunctions.map(\.entryName) == ["lib.rib:twice"])
    }
}
