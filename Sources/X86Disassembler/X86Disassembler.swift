import CCapstone
import RibbonSystem

#if canImport(Glibc)
import Glibc
#endif

/// Capstone's entry points, looked up with `dlopen`/`dlsym` on first use (the library is not
/// linked: relocating its tables cost every `ribbon` start-up about 330 page faults).
private struct Capstone {
    typealias Open = @convention(c) (cs_arch, cs_mode, UnsafeMutablePointer<csh>?) -> cs_err
    typealias Close = @convention(c) (UnsafeMutablePointer<csh>?) -> cs_err
    typealias Option = @convention(c) (csh, cs_opt_type, Int) -> cs_err
    typealias Disasm = @convention(c) (
        csh, UnsafePointer<UInt8>?, Int, UInt64, Int, UnsafeMutablePointer<UnsafeMutablePointer<cs_insn>?>?
    ) -> Int
    typealias Free = @convention(c) (UnsafeMutablePointer<cs_insn>?, Int) -> Void

    let open: Open
    let close: Close
    let option: Option
    let disasm: Disasm
    let free: Free

    static let shared: Capstone? = {
        for name in ["libcapstone.so.4", "libcapstone.so.5", "libcapstone.so"] {
            guard let library = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            func symbol<T>(_ name: String, _: T.Type) -> T? {
                dlsym(library, name).map { unsafeBitCast($0, to: T.self) }
            }
            guard let open = symbol("cs_open", Open.self), let close = symbol("cs_close", Close.self),
                let option = symbol("cs_option", Option.self), let disasm = symbol("cs_disasm", Disasm.self),
                let free = symbol("cs_free", Free.self)
            else { return nil }
            return Capstone(open: open, close: close, option: option, disasm: disasm, free: free)
        }
        return nil
    }()
}

/// Disassembles x86-64 machine code into Intel-syntax text, one entry per instruction.
///
/// Wraps Capstone's `cs_open(CS_ARCH_X86, CS_MODE_64)` and `cs_disasm`. `address` is the address
/// the code is shown at (it only affects the printed targets of relative jumps and calls).
/// Bytes that do not decode are shown one at a time as `.byte 0xNN` and decoding resumes after
/// them, so the result always covers every byte. Returns an empty array if Capstone cannot be
/// loaded or opened.
package func disassemble(_ bytes: [UInt8], address: UInt64) -> [(offset: Int, text: String)] {
    guard let cs = Capstone.shared else { return [] }
    var handle: csh = 0
    guard cs.open(CS_ARCH_X86, CS_MODE_64, &handle) == CS_ERR_OK else { return [] }
    defer { _ = cs.close(&handle) }
    _ = cs.option(handle, CS_OPT_SYNTAX, Int(CS_OPT_SYNTAX_INTEL.rawValue))

    var lines: [(offset: Int, text: String)] = []
    var offset = 0
    while offset < bytes.count {
        var instructions: UnsafeMutablePointer<cs_insn>? = nil
        let count = bytes.withUnsafeBufferPointer { buffer in
            cs.disasm(
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
            cs.free(instructions, count)
        }
        if count == 0 {
            // Capstone stops at the first byte it cannot decode: show it and go on after it.
            lines.append((offset, ".byte 0x" + Hex.encode(CollectionOfOne(bytes[offset]))))
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
