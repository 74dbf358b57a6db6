// What a compile error may show of a hostile file (LANGUAGE.md v2, "Errors"): the source must
// be UTF-8 text, and a source line is shown at most 200 columns wide with unprintable bytes
// escaped, so 3 KB of random bytes or a binary given by mistake print a few lines, not
// megabytes of control characters.

extension SourceFile {
    /// The offset of the first byte that is not part of well-formed UTF-8 (overlong forms,
    /// surrogates and values past U+10FFFF included), or nil for UTF-8 text.
    public func firstInvalidUTF8Offset() -> Int? {
        bytes.withUnsafeBufferPointer { b -> Int? in
            var i = 0
            let n = b.count
            while i < n {
                // ASCII runs, eight bytes at a time (source text is almost all ASCII).
                while i + 8 <= n {
                    let word = UnsafeRawPointer(b.baseAddress! + i).loadUnaligned(as: UInt64.self)
                    if word & 0x8080_8080_8080_8080 != 0 { break }
                    i += 8
                }
                guard i < n else { return nil }
                guard let length = Self.scalarLength(in: b, at: i) else { return i }
                i += length
            }
            return nil
        }
    }

    /// The location of byte `offset`: its line, and its column in Unicode scalars (the bytes
    /// before it on its line are valid UTF-8).
    public func location(ofByte offset: Int) -> SourceLocation {
        var line = 1
        var column = 1
        for byte in bytes[..<offset] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return SourceLocation(line: line, column: column)
    }

    /// The one error for a file that is not UTF-8 text, at its first bad byte; nil for text.
    public func encodingError() -> Diagnostic? {
        guard let offset = firstInvalidUTF8Offset() else { return nil }
        return Diagnostic(
            "the file is not UTF-8 text (byte 0x\(Self.twoHexDigits(bytes[offset])))", at: location(ofByte: offset))
    }

    /// Line `line` as a message shows it, with the caret's column in it: at most
    /// `Diagnostic.maximumLineColumns` columns around `column`, bytes that are not printable
    /// (control characters other than tab, and any byte of malformed UTF-8) as `\xHH`.
    func displayedLine(_ line: Int, column: Int) -> (text: String, caretColumn: Int) {
        // Each scalar (or byte of malformed UTF-8) as the text it is shown as.
        let text = Array(lineBytes(line))
        var pieces: [String] = []
        text.withUnsafeBufferPointer { b in
            var i = 0
            while i < b.count {
                guard let length = Self.scalarLength(in: b, at: i) else {
                    pieces.append(Self.escaped(b[i]))
                    i += 1
                    continue
                }
                let byte = b[i]
                if length == 1, byte < 0x20 && byte != 0x09 || byte == 0x7F {
                    pieces.append(Self.escaped(byte))
                } else {
                    pieces.append(String(decoding: UnsafeBufferPointer(rebasing: b[i..<i + length]), as: UTF8.self))
                }
                i += length
            }
        }
        let limit = Diagnostic.maximumLineColumns
        let target = min(max(column - 1, 0), pieces.count)
        let widths = pieces.map { $0.unicodeScalars.count }
        let before = widths[..<target].reduce(0, +)
        // A window of at most `limit` columns that holds the caret, starting as early as it can
        // (the caret at most three quarters in when the line has to be cut before it).
        var start = 0
        if widths.reduce(0, +) > limit {
            var skipped = 0
            while start < target, before - skipped > limit * 3 / 4 {
                skipped += widths[start]
                start += 1
            }
        }
        var shown = ""
        var caret = 0
        var used = 0
        var end = start
        while end < pieces.count, used + widths[end] <= limit {
            if end < target { caret += widths[end] }
            shown += pieces[end]
            used += widths[end]
            end += 1
        }
        // A column past what fits: the caret goes at the end of the shown part.
        return (shown, end < target ? used : caret)
    }

    /// `byte` as `\\xHH`, how a message shows a byte it cannot print.
    static func escaped(_ byte: UInt8) -> String { "\\x" + twoHexDigits(byte) }

    static func twoHexDigits(_ byte: UInt8) -> String {
        let hex = String(byte, radix: 16, uppercase: true)
        return hex.count < 2 ? "0" + hex : hex
    }

    /// The length in bytes of the well-formed UTF-8 scalar at `i`, or nil if the bytes there
    /// are not one (a byte that never starts UTF-8, a cut-short sequence, an overlong form, a
    /// surrogate, a value past U+10FFFF).
    @inline(__always)
    static func scalarLength(in b: UnsafeBufferPointer<UInt8>, at i: Int) -> Int? {
        let lead = b[i]
        if lead < 0x80 { return 1 }
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: return nil
        }
        guard i + length <= b.count, (low...high).contains(b[i + 1]) else { return nil }
        for k in 2..<length where !(0x80...0xBF).contains(b[i + k]) { return nil }
        return length
    }
}
