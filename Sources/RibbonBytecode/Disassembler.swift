import RibbonCore

/// Text form of loaded bytecode, one instruction a line: `  0004  i_add64 r2, r0, r1`.
/// Branch targets print as word indices within the function; Ids print with what they name.
public enum Disassembler {
    public static func disassemble(_ unit: LoadedUnit) -> String {
        var out = "; unit \(unit.sourcePath)\n"
        for function in unit.functions {
            let h = function.header.pointee
            out += "\n\(function.name):  ; id \(function.id), \(h.parameterCount) params, \(h.frameSize) registers\n"
            let code = UnsafeRawPointer(function.header).advanced(by: functionHeaderWords * 8)
                .assumingMemoryBound(to: UInt64.self)
            out += disassemble(
                code: UnsafeBufferPointer(start: code, count: Int(h.codeWords)),
                describeId: { describe(id: $0, in: unit) },
                line: { unit.line(in: function, atWord: $0) })
        }
        return out
    }

    /// What an Id refers to, for comments: `print_i64 (builtin)`, `fib`, `"hello"`.
    static func describe(id: Int, in unit: LoadedUnit) -> String {
        guard id < unit.entryCount else { return "?" }
        switch unit.entryKinds[id] {
        case .function:
            return unit.function(id: UInt32(id))?.name ?? "function"
        case .global:
            return unit.symbols.first { $0.value == UInt32(id) }?.key ?? "global"
        case .constant:
            guard let p = UnsafePointer<CChar>(bitPattern: UInt(unit.addressTable[id])) else { return "constant" }
            var text = String(cString: p)
            if text.utf8.count > 24 { text = String(text.prefix(24)) + "…" }
            return "\"" + text.replacingNewlines() + "\""
        case .builtin:
            return (unit.entryNames[id] ?? "?") + " (builtin)"
        case .foreign:
            return (unit.entryNames[id] ?? "?") + " (foreign)"
        case .imported:
            let what = unit.importedKinds[id] == .global ? "global" : "function"
            return (unit.entryNames[id] ?? "?") + " (imported \(what))"
        }
    }

    public static func disassemble(
        code: UnsafeBufferPointer<UInt64>, describeId: (Int) -> String, line: (Int) -> Int
    ) -> String {
        var out = ""
        var at = 0
        var lastLine = -1
        while at < code.count {
            let w = code[at]
            guard let op = Opcode(rawValue: InstructionWord.opcodeNumber(w)) else {
                out += "  \(pad(at))  .word 0x\(String(w, radix: 16))\n"
                at += 1
                continue
            }
            let r = { (i: Int) in "r\(InstructionWord.byte(w, i))" }
            var operands: [String] = []
            var comment = ""
            switch op.format {
            case .none: break
            case .r: operands = [r(2)]
            case .rr: operands = [r(2), r(3)]
            case .rrr: operands = [r(2), r(3), r(4)]
            case .rrrr: operands = [r(2), r(3), r(4), r(5)]
            case .ri32: operands = [r(2), "\(InstructionWord.int32(w))"]
            case .rri32: operands = [r(2), r(3), "\(InstructionWord.int32(w))"]
            case .rx64:
                let imm = at + 1 < code.count ? code[at + 1] : 0
                operands = [r(2), "0x\(String(imm, radix: 16))"]
                comment = "\(Int64(bitPattern: imm)) / \(Double(bitPattern: imm))"
            case .o32: operands = []
            case .ro32: operands = [r(2)]
            case .rro32: operands = [r(2), r(3)]
            case .ri8o32: operands = [r(2), "\(InstructionWord.int8(w))"]
            case .rid:
                operands = [r(2), "#\(InstructionWord.id(w))"]
                comment = describeId(InstructionWord.id(w))
            case .call:
                operands = [r(2), r(3), "#\(InstructionWord.id(w))"]
                comment = describeId(InstructionWord.id(w))
            }
            if op.format.hasBranchOffset {
                operands.append("@\(pad(at + Int(InstructionWord.int32(w))))")
            }
            let l = line(at)
            if l != lastLine {
                comment = comment.isEmpty ? "line \(l)" : comment + "; line \(l)"
                lastLine = l
            }
            var text = "  \(pad(at))  \(op.name)"
            if !operands.isEmpty { text += " " + operands.joined(separator: ", ") }
            if !comment.isEmpty {
                text += String(repeating: " ", count: max(1, 36 - text.count)) + "; " + comment
            }
            out += text + "\n"
            at += op.format.wordCount
        }
        return out
    }

    static func pad(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}

extension String {
    fileprivate func replacingNewlines() -> String {
        var out = ""
        for c in self { out += c == "\n" ? "\\n" : String(c) }
        return out
    }
}
