/// A register-or-memory source operand (the r/m of ModRM), for callers that choose the form
/// at run time: a JIT whose values live in machine registers or in memory picks the operand,
/// then names the instruction once (`arithmetic(_:_:_:)`) instead of once per form.
package enum Operand<Register: Sendable>: Sendable {
    case register(Register)
    case memory(Memory)
}

extension Operand where Register == GPR {
    var rm: X86Assembler.RM {
        switch self {
        case .register(let r): .register(r.rawValue)
        case .memory(let m): .memory(m)
        }
    }
}

extension Operand where Register == XMM {
    var rm: X86Assembler.RM {
        switch self {
        case .register(let r): .register(r.rawValue)
        case .memory(let m): .memory(m)
        }
    }
}
