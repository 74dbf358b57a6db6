import Testing

@testable import RibbonJIT

@Suite struct MachineCodeTests {
    /// `movabs rax, imm64; ret`: returns its (relocated) immediate.
    static let returnImmediate: [UInt8] = [0x48, 0xB8] + [UInt8](repeating: 0, count: 8) + [0xC3]

    @Test func relocatedCopiesRunAtTwoAddresses() throws {
        let code = MachineCode(
            bytes: Self.returnImmediate, relocations: [Relocation(offset: 2, target: .runtimeHelper("answer"))])
        let a = try LoadedMachineCode(code) { _ in 42 }
        let b = try LoadedMachineCode(code) { _ in 4242 }
        #expect(a.entry != b.entry)
        typealias Fn = @convention(c) () -> UInt64
        #expect(unsafeBitCast(a.entry, to: Fn.self)() == 42)
        #expect(unsafeBitCast(b.entry, to: Fn.self)() == 4242)
    }

    @Test func badRelocationsAreErrorsNotCrashes() {
        let outside = MachineCode(bytes: Self.returnImmediate, relocations: [Relocation(offset: 5, target: .addressTable)])
        #expect(throws: LoadedMachineCode.Failure.relocationOutOfBounds(5)) {
            _ = try LoadedMachineCode(outside) { _ in 1 }
        }
        let unresolved = MachineCode(bytes: Self.returnImmediate, relocations: [Relocation(offset: 2, target: .functionHeader(3))])
        #expect(throws: LoadedMachineCode.Failure.unresolved(.functionHeader(3))) {
            _ = try LoadedMachineCode(unresolved) { _ in nil }
        }
        #expect(throws: LoadedMachineCode.Failure.entryOutOfBounds) {
            _ = try LoadedMachineCode(MachineCode(bytes: [0xC3], entryOffset: 7)) { _ in nil }
        }
    }
}
