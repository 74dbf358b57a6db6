import X86Disassembler

extension MachineCodeListing {
    /// One blob's machine code as assembly (Capstone), each absolute address annotated with its
    /// relocation, and loop entries marked: what `ribbon cache show --disasm` prints for code
    /// read back from the cache. `functionName` names the Ids that relocations refer to.
    package static func listing(_ code: MachineCode, functionName: (UInt32) -> String? = { _ in nil }) -> String {
        func describe(_ target: RelocationTarget) -> String {
            switch target {
            case .functionHeader(let id): functionName(id).map { "function \($0) (#\(id))" } ?? "function #\(id)"
            case .bytecodeWord(let f, let w): "bytecode of \(functionName(f) ?? "#\(f)") word \(w)"
            default: MachineCodeListing.describe(target)
            }
        }
        let targets = Dictionary(code.relocations.map { ($0.offset, $0.target) }, uniquingKeysWith: { a, _ in a })
        let loopStarts = Dictionary(code.loopEntries.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        var out = ""
        let lines = disassemble(code.bytes, address: 0)
        if lines.isEmpty, !code.bytes.isEmpty { return "  ; Capstone is not available (install libcapstone)\n" }
        for (i, line) in lines.enumerated() {
            let end = i + 1 < lines.count ? lines[i + 1].offset : code.bytes.count
            if line.offset == code.entryOffset { out += "  ; entry\n" }
            if let word = loopStarts[line.offset] { out += "  ; loop entry (bytecode word \(word))\n" }
            var text = "  " + hex(line.offset) + "  " + line.text
            if let target = (line.offset..<end).lazy.compactMap({ targets[$0] }).first {
                text += String(repeating: " ", count: max(1, 48 - text.count)) + "; " + describe(target)
            }
            out += text + "\n"
        }
        return out
    }
}
