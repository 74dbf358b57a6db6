import RibbonBytecode
import RibbonSystem
import X86Disassembler

/// `ribbon disasm --machine`: each function's machine code as assembly (Capstone), with the
/// relocations it carries. Addresses are offsets from the function's entry.
package enum MachineCodeListing {
    package static func listing(_ unit: LoadedUnit) -> String {
        var out = ""
        for function in unit.functions {
            out += "\n\(function.name):  ; machine code\n"
            let code: MachineCode
            do {
                code = try JITCompiler.compile(function)
            } catch {
                out += "  ; not compiled: \(error)\n"
                continue
            }
            let targets = Dictionary(code.relocations.map { ($0.offset, $0.target) }, uniquingKeysWith: { a, _ in a })
            out += "  ; \(code.bytes.count) bytes, \(code.relocations.count) relocations"
            out += code.features.isEmpty ? "\n" : ", needs \(code.features.sorted().joined(separator: " "))\n"
            let lines = disassemble(code.bytes, address: 0)
            for (i, line) in lines.enumerated() {
                let end = i + 1 < lines.count ? lines[i + 1].offset : code.bytes.count
                var text = "  " + hex(line.offset) + "  " + line.text
                if let target = (line.offset..<end).lazy.compactMap({ targets[$0] }).first {
                    text += String(repeating: " ", count: max(1, 48 - text.count)) + "; " + describe(target)
                }
                out += text + "\n"
            }
        }
        return out
    }

    static func describe(_ target: RelocationTarget) -> String {
        switch target {
        case .addressTable: "AddressTable"
        case .runtimeHelper(let name): "helper \(name)"
        case .functionHeader(let id): "function #\(id)"
        case .bytecodeWord(let f, let w): "bytecode #\(f) word \(w)"
        case .foreignSymbol(let s): "C \(s)"
        }
    }

    static func hex(_ n: Int) -> String { Hex.padded(n, width: 4) }
}
