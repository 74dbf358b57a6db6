import X86Assembler

/// The assembler's label, named apart from RibbonBytecode's `Label` (bytecode branch targets).
/// This file imports only X86Assembler, where the name is unambiguous.
typealias CodeLabel = Label
