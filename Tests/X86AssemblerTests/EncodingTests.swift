import Testing

@testable import X86Assembler

/// The assembler's bytes must equal GNU `as`'s for every form (STYLE.md: assembler tests compare
/// with GNU `as` output).
@Suite struct EncodingTests {
    @Test func everyFormMatchesGNUAssembler() throws {
        var assembler = X86Assembler()
        let labels = TableLabels(start: assembler.makeLabel(), end: assembler.makeLabel())
        assembler.bind(labels.start)
        let rows = EncodingTable.rows(labels)
        var offsets: [Int] = []
        for row in rows {
            offsets.append(assembler.position)
            row.emit(&assembler, labels)
        }
        offsets.append(assembler.position)
        assembler.bind(labels.end)
        let ours = try assembler.finish()

        let gnu = try GNUAssembler.assemble(rows.map(\.text))
        // Report rows whose length differs first: they shift every later row and every
        // RIP-relative or jump displacement that crosses them.
        var lengthMismatches: [String] = []
        var byteMismatches: [String] = []
        for (i, row) in rows.enumerated() {
            let mine = Array(ours[offsets[i]..<offsets[i + 1]])
            let theirs = Array(gnu.bytes[gnu.offsets[i]..<gnu.offsets[i + 1]])
            let report = "\(row.text): ours \(hex(mine)), as \(hex(theirs)) (row \(i), offset \(offsets[i]))"
            if mine.count != theirs.count {
                lengthMismatches.append(report)
            } else if mine != theirs {
                byteMismatches.append(report)
            }
        }
        for report in (lengthMismatches + byteMismatches).prefix(20) {
            Issue.record(Comment(rawValue: report))
        }
        #expect(lengthMismatches.count + byteMismatches.count == 0, "\(lengthMismatches.count) rows differ in length and \(byteMismatches.count) in bytes, of \(rows.count)")
        #expect(ours.count == gnu.bytes.count)
    }

    func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
            .joined(separator: " ")
    }
}
