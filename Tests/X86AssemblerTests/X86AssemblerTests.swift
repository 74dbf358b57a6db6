import Testing

@testable import X86Assembler

@Suite struct X86AssemblerTests {
    @Test func startsEmpty() {
        #expect(X86Assembler().bytes.isEmpty)
    }
}
