/// Number and string literals.
///
/// Numbers: decimal `123`, hex `0xFF`, floats `1.5`, `2.0e-3`, `1e9`. A `.` belongs to a number
/// only with digits on both sides, so `1.` is the integer `1` followed by a `.` (which is how
/// `if n < 2. n` reads) and `.5` is a `.` followed by `5`. `_` may group digits, but only
/// between two digits: `1_000` is fine, `1__0`, `1_`, `0x_FF` and `1_.5` are malformed.
/// A number directly followed by a letter or `_` (`12ab`, `1.5e`) is malformed.
extension Lexer {
    static func isDecimalDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    static func hexDigitValue(_ byte: UInt8) -> UInt64? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt64(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt64(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt64(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Whether `bytes[range]` is a well-grouped run of digits: non-empty, and every `_` sits
    /// between two digits.
    func isWellGrouped(_ range: Range<Int>) -> Bool {
        guard !range.isEmpty, bytes[range.lowerBound] != UInt8(ascii: "_"),
            bytes[range.upperBound - 1] != UInt8(ascii: "_")
        else { return false }
        for offset in range.dropFirst() where bytes[offset] == UInt8(ascii: "_") && bytes[offset - 1] == UInt8(ascii: "_") {
            return false
        }
        return true
    }

    /// Advances over `[0-9_]*` (or hex digits and `_`) and returns the range.
    mutating func scanDigits(hex: Bool = false) -> Range<Int> {
        let first = position
        while position < bytes.count {
            let byte = bytes[position]
            guard byte == UInt8(ascii: "_") || (hex ? Lexer.hexDigitValue(byte) != nil : Lexer.isDecimalDigit(byte)) else { break }
            position += 1
        }
        return first..<position
    }

    mutating func lexNumber() {
        // The common case first: decimal digits, grouped by single `_`s between digits (at
        // most 19 digits, so no overflow), not followed by anything that continues a number
        // (`_`, a letter, `.5`, a digit).
        var end = position
        var plain: UInt64 = 0
        var digits = 0
        while end < bytes.count {
            let digit = bytes[end] &- UInt8(ascii: "0")
            if digit < 10 {
                guard digits < 19 else { break }
                plain = plain &* 10 &+ UInt64(digit)
                digits += 1
                end += 1
            } else if digit == UInt8(ascii: "_") &- UInt8(ascii: "0"), Lexer.isDecimalDigit(byte(at: end + 1)) {
                end += 1  // (After a digit: a `_` is only stepped over when a digit follows.)
            } else {
                break
            }
        }
        let next = byte(at: end)
        if !Lexer.isIdentifierByte(next), next != UInt8(ascii: ".") || !Lexer.isDecimalDigit(byte(at: end + 1)) {
            let start = location
            position = end
            append(Token(.integer(plain), at: start))
            return
        }
        lexGeneralNumber()
    }

    /// Any number (see the type's comment), malformed ones included.
    mutating func lexGeneralNumber() {
        let start = location
        let first = position
        var wellFormed = true
        var isFloat = false
        var value: UInt64 = 0
        var overflowed = false

        func accumulate(_ range: Range<Int>, radix: UInt64) {
            for offset in range where bytes[offset] != UInt8(ascii: "_") {
                let digit = Lexer.hexDigitValue(bytes[offset])!
                let (shifted, overflow1) = value.multipliedReportingOverflow(by: radix)
                let (sum, overflow2) = shifted.addingReportingOverflow(digit)
                if overflow1 || overflow2 { overflowed = true }
                value = sum
            }
        }

        if bytes[position] == UInt8(ascii: "0"), byte(at: position + 1) | 0x20 == UInt8(ascii: "x") {
            position += 2
            let digits = scanDigits(hex: true)
            wellFormed = isWellGrouped(digits)
            accumulate(digits, radix: 16)
        } else {
            let integerPart = scanDigits()
            wellFormed = isWellGrouped(integerPart)
            accumulate(integerPart, radix: 10)
            if byte(at: position) == UInt8(ascii: "."), Lexer.isDecimalDigit(byte(at: position + 1)) {
                isFloat = true
                position += 1
                wellFormed = isWellGrouped(scanDigits()) && wellFormed
            }
            if byte(at: position) | 0x20 == UInt8(ascii: "e") {
                var offset = position + 1
                let sign = byte(at: offset)
                if sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { offset += 1 }
                if Lexer.isDecimalDigit(byte(at: offset)) {
                    isFloat = true
                    position = offset
                    wellFormed = isWellGrouped(scanDigits()) && wellFormed
                }
            }
        }
        // `12ab`, `1.5e`, `0xFG`: letters glued to a number make it malformed.
        while Lexer.isIdentifierByte(byte(at: position)) {
            wellFormed = false
            position += 1
        }

        var text: String { String(decoding: bytes[first..<position], as: UTF8.self) }
        guard wellFormed else {
            report("malformed number `\(text)`", at: start)
            append(Token(isFloat ? .float(0) : .integer(0), at: start))
            return
        }
        if isFloat {
            if let number = exactDouble(first..<position) {
                append(Token(.float(number), at: start))
                return
            }
            var digits = text  // Other floats are rare enough to parse through a String.
            digits.removeAll { $0 == "_" }
            let number = Double(digits) ?? .infinity
            if !number.isFinite {
                report("float literal `\(text)` is out of range", at: start)
            }
            append(Token(.float(number.isFinite ? number : 0), at: start))
        } else {
            append(Token(.integer(overflowed ? .max : value), at: start))
        }
    }

    /// The value of the well-formed float literal `bytes[range]` when it can be computed
    /// exactly with one rounding (Clinger's fast path: at most 15 significant digits and a
    /// power of ten up to 10^22, both exact doubles, so one multiplication or division rounds
    /// correctly, as `Double(String)` does); nil otherwise.
    func exactDouble(_ range: Range<Int>) -> Double? {
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        var offset = range.lowerBound
        var afterPoint = false
        while offset < range.upperBound {
            let byte = bytes[offset]
            if Lexer.isDecimalDigit(byte) {
                mantissa = mantissa &* 10 &+ UInt64(byte - UInt8(ascii: "0"))
                digits += 1
                if afterPoint { exponent -= 1 }
            } else if byte == UInt8(ascii: ".") {
                afterPoint = true
            } else if byte != UInt8(ascii: "_") {
                break  // `e` or `E`
            }
            offset += 1
        }
        guard digits <= 15 else { return nil }
        if offset < range.upperBound {
            offset += 1
            var negative = false
            if bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") {
                negative = bytes[offset] == UInt8(ascii: "-")
                offset += 1
            }
            var written = 0
            while offset < range.upperBound {
                let byte = bytes[offset]
                if Lexer.isDecimalDigit(byte) {
                    written = written * 10 + Int(byte - UInt8(ascii: "0"))
                    if written > 1000 { return nil }
                }
                offset += 1
            }
            exponent += negative ? -written : written
        }
        guard exponent >= -22 && exponent <= 22 else { return nil }
        var scale = 1.0
        for _ in 0..<abs(exponent) { scale *= 10 }
        let value = Double(mantissa)
        return exponent < 0 ? value / scale : value * scale
    }

    /// A string literal, from its opening quote. An unterminated string (the line ends first)
    /// is reported at the opening quote and yields the bytes up to the end of the line.
    mutating func lexString() {
        let start = location
        position += 1
        var value: [UInt8] = []
        while true {
            guard position < bytes.count, case let byte = bytes[position], byte != UInt8(ascii: "\n") else {
                report("unterminated string literal", at: start)
                break
            }
            if byte == UInt8(ascii: "\"") {
                position += 1
                break
            }
            if byte == UInt8(ascii: "\\") {
                lexEscape(into: &value)
                continue
            }
            if byte & 0xC0 == 0x80 { continuationBytes += 1 }
            value.append(byte)
            position += 1
        }
        append(Token(.string(Int32(strings.count)), at: start))
        strings.append(value)
    }

    /// One escape sequence, from its backslash: `\n \t \\ \" \0 \xHH`.
    mutating func lexEscape(into value: inout [UInt8]) {
        let backslash = location
        position += 1
        guard position < bytes.count, case let code = bytes[position], code != UInt8(ascii: "\n") else {
            report("invalid escape sequence `\\` at the end of the line", at: backslash)
            return
        }
        position += 1
        switch code {
        case UInt8(ascii: "n"): value.append(0x0A)
        case UInt8(ascii: "t"): value.append(0x09)
        case UInt8(ascii: "\\"): value.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "\""): value.append(UInt8(ascii: "\""))
        case UInt8(ascii: "0"): value.append(0)
        case UInt8(ascii: "x"):
            if let high = Lexer.hexDigitValue(byte(at: position)),
                let low = Lexer.hexDigitValue(byte(at: position + 1))
            {
                value.append(UInt8(high << 4 | low))
                position += 2
            } else {
                report("invalid escape sequence `\\x`: expected two hex digits", at: backslash)
            }
        default:
            let end = scalarEnd(from: position - 1)
            let text = String(decoding: bytes[(position - 1)..<end], as: UTF8.self)
            continuationBytes += end - position
            position = end
            report("invalid escape sequence `\\\(text)`", at: backslash)
        }
    }
}
