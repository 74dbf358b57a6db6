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
                let lead = b[i]
                if lead < 0x80 {
                    i += 1
                    continue
                }
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
                default: return i
                }
                guard i + length <= n else { return i }
                guard (low...high).contains(b[i + 1]) else { return i }
                for k in 2..<length where !(0x80...0xBF).contains(b[i + k]) { return i }
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
        let hex = String(bytes[offset], radix: 16, uppercase: true)
        return Diagnostic(
            "the file is not UTF-8 text (byte 0x\(hex.count < 2 ? "0" + hex : hex))", at: location(ofByte: offset))
    }

    /// Line `line` as a message shows it, with the caret's column in it: at most
    /// `Diagnostic.maximumLineColumns` columns around `column`, bytes that are not printable
    /// (control characters other than tab, and any byte of malformed UTF-8) as `\xHH`.
    func displayedLine(_ line: Int, column: Int) -> (text: String, caretColumn: Int) {
        // Each scalar (or bad byte) as the text it is shown as.
        var pieces: [String] = []
        let text = Array(lineText(rawLine: line))
        var i = 0
        while i < text.count {
            let byte = text[i]
            if byte < 0x80 {
                pieces.append(byte < 0x20 && byte != 0x09 || byte == 0x7F ? Self.escaped(byte) : String(UnicodeScalar(byte)))
                i += 1
                continue
            }
            let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            let scalarBytes = i + length <= text.count ? Array(text[i..<i + length]) : []
            if length > 1, !scalarBytes.isEmpty,
                SourceFile(path: "", bytes: scalarBytes).firstInvalidUTF8Offset() == nil
            {
                pieces.append(String(decoding: scalarBytes, as: UTF8.self))
                i += length
            } else {
                pieces.append(Self.escaped(byte))
                i += 1
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
        for k in start..<pieces.count {
            if used + widths[k] > limit { break }
            if k < target { caret += widths[k] }
            shown += pieces[k]
            used += widths[k]
        }
        if target >= start, caret < before - widths[..<start].reduce(0, +) { caret = used }
        return (shown, caret)
    }

    static func escaped(_ byte: UInt8) -> String {
        let hex = String(byte, radix: 16, uppercase: true)
        return "\\x" + (hex.count < 2 ? "0" + hex : hex)
    }

    /// Line `line`'s bytes without its terminator (`lineText` as bytes, for display).
    func lineText(rawLine line: Int) -> ArraySlice<UInt8> {
        var currentLine = 1
        var start = 0
        while currentLine < line {
            guard let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else { return [] }
            start = newline + 1
            currentLine += 1
        }
        var end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
        if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return bytes[start..<end]
    }
}
