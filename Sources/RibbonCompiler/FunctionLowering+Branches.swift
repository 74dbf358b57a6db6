import RibbonBytecode
import RibbonCore
import RibbonSyntax

/// Conditions as control flow: comparisons become fused compare-and-branch instructions,
/// `and`/`or`/`not` become jumps.
extension FunctionLowering {
    /// Jumps to `label` when `e` evaluates to `when`; falls through otherwise. Comparisons
    /// become one fused compare-and-branch; `and`/`or`/`not` become control flow.
    mutating func branch(_ id: CheckedExpressionID, when: Bool, to label: Label) {
        let mark = nextTemp
        defer { nextTemp = mark }
        switch program[id].kind {
        case .boolLiteral(let v):
            if v == when { code.emitBranch(.br, to: label) }
            return
        case .unary(.not, let a):
            branch(a, when: !when, to: label)
            return
        case .and(let a, let b):
            if when {
                let skip = code.makeLabel()
                branch(a, when: false, to: skip)
                branch(b, when: true, to: label)
                code.bind(skip)
            } else {
                branch(a, when: false, to: label)
                branch(b, when: false, to: label)
            }
            return
        case .or(let a, let b):
            if when {
                branch(a, when: true, to: label)
                branch(b, when: true, to: label)
            } else {
                let skip = code.makeLabel()
                branch(a, when: true, to: skip)
                branch(b, when: false, to: label)
                code.bind(skip)
            }
            return
        case .binary(let op, let lhs, let rhs):
            if compareAndBranch(op, lhs, rhs, when: when, to: label) { return }
        default:
            break
        }
        let r = expression(id, into: nil)
        code.emitBranch(when ? .brIf : .brIfnot, r, to: label)
    }

    /// Emits the fused branch for a comparison; false when `op` is not a comparison.
    mutating func compareAndBranch(
        _ op: BinaryOperation, _ lhs: CheckedExpressionID, _ rhs: CheckedExpressionID, when: Bool, to label: Label
    ) -> Bool {
        // The relation that makes the branch jump: `op` itself, or its negation.
        enum Relation { case eq, ne, lt, le, gt, ge }
        let relation: Relation
        let isFloat: Bool
        switch op {
        case .eqI64, .eqBool: (relation, isFloat) = (.eq, false)
        case .neI64, .neBool: (relation, isFloat) = (.ne, false)
        case .ltI64: (relation, isFloat) = (.lt, false)
        case .leI64: (relation, isFloat) = (.le, false)
        case .gtI64: (relation, isFloat) = (.gt, false)
        case .geI64: (relation, isFloat) = (.ge, false)
        case .eqF64: (relation, isFloat) = (.eq, true)
        case .neF64: (relation, isFloat) = (.ne, true)
        case .ltF64: (relation, isFloat) = (.lt, true)
        case .leF64: (relation, isFloat) = (.le, true)
        case .gtF64: (relation, isFloat) = (.gt, true)
        case .geF64: (relation, isFloat) = (.ge, true)
        default: return false
        }
        if isFloat {
            let a = operand(lhs, protectingFrom: rhs)
            let b = expression(rhs, into: nil)
            // F64 negations are not the opposite comparison (NaN): use the `n` forms.
            switch (relation, when) {
            case (.eq, true): code.emitBranch(.brFEq64, a, b, to: label)
            case (.eq, false): code.emitBranch(.brFNe64, a, b, to: label)
            case (.ne, true): code.emitBranch(.brFNe64, a, b, to: label)
            case (.ne, false): code.emitBranch(.brFEq64, a, b, to: label)
            case (.lt, true): code.emitBranch(.brFLt64, a, b, to: label)
            case (.lt, false): code.emitBranch(.brFNlt64, a, b, to: label)
            case (.le, true): code.emitBranch(.brFLe64, a, b, to: label)
            case (.le, false): code.emitBranch(.brFNle64, a, b, to: label)
            case (.gt, true): code.emitBranch(.brFLt64, b, a, to: label)
            case (.gt, false): code.emitBranch(.brFNlt64, b, a, to: label)
            case (.ge, true): code.emitBranch(.brFLe64, b, a, to: label)
            case (.ge, false): code.emitBranch(.brFNle64, b, a, to: label)
            }
            return true
        }
        // I64 and Bool: the negation of a relation is another relation.
        var r = relation
        if !when {
            switch relation {
            case .eq: r = .ne
            case .ne: r = .eq
            case .lt: r = .ge
            case .le: r = .gt
            case .gt: r = .le
            case .ge: r = .lt
            }
        }
        if let c = smallInt(rhs, range: -128...127) {
            let a = expression(lhs, into: nil)
            let imm = UInt8(bitPattern: Int8(c))
            switch r {
            case .eq: code.emitBranch(.brIEq64Imm, a, imm, to: label)
            case .ne: code.emitBranch(.brINe64Imm, a, imm, to: label)
            case .lt: code.emitBranch(.brSLt64Imm, a, imm, to: label)
            case .le: code.emitBranch(.brSLe64Imm, a, imm, to: label)
            case .gt: code.emitBranch(.brSGt64Imm, a, imm, to: label)
            case .ge: code.emitBranch(.brSGe64Imm, a, imm, to: label)
            }
            return true
        }
        let a = operand(lhs, protectingFrom: rhs)
        let b = expression(rhs, into: nil)
        switch r {
        case .eq: code.emitBranch(.brIEq64, a, b, to: label)
        case .ne: code.emitBranch(.brINe64, a, b, to: label)
        case .lt: code.emitBranch(.brSLt64, a, b, to: label)
        case .le: code.emitBranch(.brSLe64, a, b, to: label)
        case .gt: code.emitBranch(.brSLt64, b, a, to: label)
        case .ge: code.emitBranch(.brSLe64, b, a, to: label)
        }
        return true
    }
}
