#if canImport(Glibc)
import Glibc
#endif
import CRibbonABI
import RibbonCore
import RibbonSystem

/// The runtime builtins: native functions with the builtin ABI, found by name when a unit is
/// loaded. Each reads its arguments from `frame[0...]` and writes its result to `frame[0]`.
///
/// Built-in functions that are single instructions (`len`, `float`, `int`, `sqrt`, `floor`,
/// `abs`, the bit operations) are not here: the compiler emits the instruction.
package enum Builtins {
    /// Builtin name → function. The names are part of the unit image format.
    package static let table: [String: BuiltinFunction] = [
        "print_i64": { h in printI64(h!, newline: true) },
        "print_f64": { h in printF64(h!, newline: true) },
        "print_bool": { h in printBool(h!, newline: true) },
        "print_str": { h in printStr(h!, newline: true) },
        "write_i64": { h in printI64(h!, newline: false) },
        "write_f64": { h in printF64(h!, newline: false) },
        "write_bool": { h in printBool(h!, newline: false) },
        "write_str": { h in printStr(h!, newline: false) },
        "array_i64": { h in makeArray(h!, elementSize: 8) },
        "array_f64": { h in makeArray(h!, elementSize: 8) },
        "array_bool": { h in makeArray(h!, elementSize: 1) },
        // Sits in a foreign function's slot until System V glue replaces it.
        "foreign_unavailable": { h in trap(h!, .foreignCallUnavailable, 0) },
        "clock": { h in
            h!.pointee.frame[0] = UInt64(bitPattern: MonotonicClock.nanoseconds())
            return RibbonSignalReturn
        },
    ]

    /// The address of a builtin, for `SymbolResolver.builtin`.
    package static func address(named name: String) -> UInt64? {
        guard let f = table[name] else { return nil }
        return UInt64(UInt(bitPattern: unsafeBitCast(f, to: UnsafeRawPointer.self)))
    }

    static func printI64(_ h: UnsafeMutablePointer<FiberHeader>, newline: Bool) -> BuiltinSignal {
        let v = Int64(bitPattern: h.pointee.frame[0])
        // Digits right to left into a stack buffer: no String, no allocation.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buf in
            var i = 24
            if newline {
                i -= 1
                buf[i] = 10
            }
            var m = v.magnitude
            repeat {
                i -= 1
                buf[i] = UInt8(truncatingIfNeeded: 48 &+ m % 10)
                m /= 10
            } while m != 0
            if v < 0 {
                i -= 1
                buf[i] = 45
            }
            Fiber.from(h).write(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buf[i..<24])))
        }
        return RibbonSignalReturn
    }

    static func printF64(_ h: UnsafeMutablePointer<FiberHeader>, newline: Bool) -> BuiltinSignal {
        var text = formatF64(Double(bitPattern: h.pointee.frame[0]))
        if newline { text += "\n" }
        writeString(h, &text)
        return RibbonSignalReturn
    }

    static func printBool(_ h: UnsafeMutablePointer<FiberHeader>, newline: Bool) -> BuiltinSignal {
        var text = h.pointee.frame[0] != 0 ? "true" : "false"
        if newline { text += "\n" }
        writeString(h, &text)
        return RibbonSignalReturn
    }

    static func printStr(_ h: UnsafeMutablePointer<FiberHeader>, newline: Bool) -> BuiltinSignal {
        let fiber = Fiber.from(h)
        if let p = UnsafeRawPointer(bitPattern: UInt(h.pointee.frame[0])) {
            fiber.write(UnsafeRawBufferPointer(start: p, count: strlen(p.assumingMemoryBound(to: CChar.self))))
        }
        if newline {
            var nl: UInt8 = 10
            withUnsafeBytes(of: &nl) { fiber.write($0) }
        }
        return RibbonSignalReturn
    }

    static func writeString(_ h: UnsafeMutablePointer<FiberHeader>, _ text: inout String) {
        let fiber = Fiber.from(h)
        text.withUTF8 { fiber.write(UnsafeRawBufferPointer($0)) }
    }

    /// `array n v`: a length word followed by `n` elements, each `v` (8 bytes, or 1 for Bool).
    static func makeArray(_ h: UnsafeMutablePointer<FiberHeader>, elementSize: Int) -> BuiltinSignal {
        let n = Int64(bitPattern: h.pointee.frame[0])
        let v = h.pointee.frame[1]
        if n < 0 { return trap(h, .negativeArrayLength, n) }
        // Over 2^40 elements can never be allocated here; refusing early keeps the size
        // arithmetic below far from overflow.
        guard n < (1 << 40), let memory = calloc(1, 8 + Int(n) * elementSize) else {
            return trap(h, .outOfMemory, n)
        }
        Fiber.from(h).allocations.append(memory)
        memory.storeBytes(of: n, as: Int64.self)
        let elements = memory + 8
        if v != 0 {
            if elementSize == 1 {
                memset(elements, 1, Int(n))
            } else {
                elements.bindMemory(to: UInt64.self, capacity: Int(n)).update(repeating: v, count: Int(n))
            }
        }
        h.pointee.frame[0] = UInt64(UInt(bitPattern: memory))
        return RibbonSignalReturn
    }

    static func trap(_ h: UnsafeMutablePointer<FiberHeader>, _ code: TrapCode, _ a: Int64, _ b: Int64 = 0) -> BuiltinSignal {
        h.pointee.trapCode = code.rawValue
        h.pointee.trapOperands = (a, b)
        return RibbonSignalTrap
    }
}
