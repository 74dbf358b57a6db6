/// A pure x86-64 instruction encoder: bytes in, no memory mapping, no VM knowledge.
/// (Being written: see issue 3.)
public struct X86Assembler {
    public private(set) var bytes: [UInt8] = []

    public init() {}
}
