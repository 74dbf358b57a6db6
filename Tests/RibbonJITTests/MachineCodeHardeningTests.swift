import Testing

@testable import RibbonJIT

/// Regressions (found by the machine-code blob fuzzer): what a blob may not be.
@Suite struct MachineCodeHardeningTests {
    static func resolve(_ target: RelocationTarget) -> UInt64? { 0x1122_3344_5566_7788 }

    /// Empty code has no byte for its entry to be at. Before, a blob of 0 bytes decoded with
    /// entry 0, and in a batch its entry was the first byte of the next blob's code.
    @Test func emptyCodeHasNoEntry() {
        let empty = MachineCode(bytes: [], entryOffset: 0)
        #expect(throws: MachineCode.DecodingError.malformed("entry outside the code")) {
            _ = try MachineCode(serialized: empty.serialized())
        }
        #expect(throws: LoadedMachineCode.Failure.entryOutOfBounds) {
            _ = try LoadedMachineCode(empty, resolve: Self.resolve)
        }
        let ret = MachineCode(bytes: [0xC3])
        let results = LoadedMachineCode.loadBatch([empty, ret], resolve: Self.resolve)
        #expect(!results[0].isSuccess && results[1].isSuccess)
    }

    /// Two relocations whose 8 bytes overlap would leave neither address whole.
    @Test func relocationsDoNotOverlap() throws {
        func blob(_ offsets: [Int]) -> [UInt8] {
            MachineCode(
                bytes: [UInt8](repeating: 0x90, count: 32) + [0xC3],
                relocations: offsets.map { Relocation(offset: $0, target: .addressTable) }
            ).serialized()
        }
        let adjacent = try MachineCode(serialized: blob([0, 8, 24]))
        #expect(adjacent.relocations.count == 3)
        for offsets in [[0, 4], [8, 8], [16, 0, 20], [26]] {
            #expect(throws: MachineCode.DecodingError.self, "\(offsets)") { _ = try MachineCode(serialized: blob(offsets)) }
        }
    }
}

extension Result {
    fileprivate var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
