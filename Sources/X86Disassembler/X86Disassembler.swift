import CCapstone

/// Disassembles x86-64 machine code into Intel-syntax text, one entry per instruction.
///
/// Wraps Capstone's `cs_open(CS_ARCH_X86, CS_MODE_64)` and `cs_disasm`. `address` is the address
/// the code is shown at (it only affects the printed targets of relative jumps and calls).
/// Bytes that do not decode are shown one at a time as `.byte 0xNN` and decoding resumes after
/// them, so the result always covers every byte. Returns an empty array if Capstone cannot be
/// opened.
public func disassemble(_ bytes: [UInt8], address: UInt64) -> [(offset: Int, text: String)] {
    var handle: csh = 0
    guard cs_open(CS_ARCH_X86, CS_MODE_64, &handle) == CS_ERR_OK else { return [] }
    defer { cs_close(&handle) }
    _ = cs_option(handle, CS_OPT_SYNTAX, Int(CS_OPT_SYNTAX_INTEL.rawValue))

    var lines: [(offset: Int, text: String)] = []
    var offset = 0
    while offset < bytes.count {
        var instructions: UnsafeMutablePointer<cs_insn>? = nil
        let count = bytes.withUnsafeBufferPointer { buffer in
            cs_disasm(
                handle, buffer.baseAddress! + offset, buffer.count - offset, address + UInt64(offset), 0,
                &instructions)
        }
        if let instructions {
            for i in 0..<count {
                let instruction = instructions[i]
                let mnemonic = withUnsafeBytes(of: instruction.mnemonic) { text(from: $0) }
                let operands = withUnsafeBytes(of: instruction.op_str) { text(from: $0) }
                lines.append((offset, operands.isEmpty ? mnemonic : mnemonic + " " + operands))
                offset += Int(instruction.size)
            }
            cs_free(instructions, count)
        }
        if count == 0 {
            // Capstone stops at the first byte it cannot decode: show it and go on after it.
            lines.append((offset, ".byte 0x" + hex(bytes[offset])))
            offset += 1
        }
    }
    return lines
}

/// The NUL-terminated C string at the start of a fixed-size `char` array.
private func text(from raw: UnsafeRawBufferPointer) -> String {
    let length = raw.firstIndex(of: 0) ?? raw.count
    return String(decoding: raw[..<length], as: UTF8.self)
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}
