#if canImport(Glibc)
import Glibc
#endif
import RibbonCore

/// Look-ups: functions by Id or header, their rows (read on first use when lazy), signatures
/// and source lines, and symbols by name (through the symbol index when lazy).
extension LoadedUnit {
    /// The function with this Id, if the Id names one of this unit's functions (nil too when
    /// a lazily loaded unit's row for it cannot be read).
    public func function(id: UInt32) -> FunctionInfo? {
        guard Int(id) < entryCount, let index = numbering.row(ofId: Int(id)) else { return nil }
        return info(index: index)
    }

    /// The function whose header is at `header`, for backtraces and tier-up (nil for a stub).
    public func function(header: UnsafePointer<FunctionHeader>) -> FunctionInfo? {
        let id = header.pointee.functionId
        guard Int(id) < entryCount, let index = numbering.row(ofId: Int(id)), let f = info(index: index) else {
            return nil
        }
        if UnsafePointer(f.header) == header { return f }
        return nil
    }

    /// The Id of a function or global this unit defines, by name (no dictionary is built; a
    /// lazily loaded unit compares the names' bytes in the image).
    /// Name → Id for linking a unit that uses this one: through the symbol index while a lazily
    /// loaded unit has not read its SymbolTable (a file links the few names it uses; building
    /// the whole dictionary for each of a thousand files was 3% of such a program's warm run),
    /// else the dictionary.
    public func exportedId(named name: String) -> UInt32? {
        if lazySource != nil, !symbolsRead { return symbol(named: name) }
        return symbols[name]
    }

    public func symbol(named name: String) -> UInt32? {
        guard lazySource != nil, !symbolsRead else { return symbolList.first { $0.name == name }?.id }
        var wanted = name
        return wanted.withUTF8 { wanted in findSymbol(wanted) }
    }


    /// Function `i`'s name (for messages), reading its row if need be.
    func functionName(_ i: Int) -> String {
        info(index: i)?.name ?? "#\(i)"
    }

    /// Function rows by index, as far as they have been read: the rows read, and a slot per
    /// index (its place in `read` plus one; 0: not read yet), in zero-filled memory that a
    /// lazily loaded unit of 5,000 functions touches only for the rows it reads.
    final class RowTable {
        private let slots: ZeroFilledWords
        private var read: [FunctionInfo] = []

        init(count: Int) { slots = ZeroFilledWords(count: count) }

        init(all: [FunctionInfo]) {
            read = all
            slots = ZeroFilledWords(count: all.count)
            for i in 0..<all.count { slots[i] = UInt64(i + 1) }
        }

        subscript(index: Int) -> FunctionInfo? {
            get { slots[index] == 0 ? nil : read[Int(slots[index]) - 1] }
            set {
                guard let newValue else { return }
                if slots[index] == 0 {
                    read.append(newValue)
                    slots[index] = UInt64(read.count)
                } else {
                    read[Int(slots[index]) - 1] = newValue
                }
            }
        }
    }

    /// Function `i`'s row: read (and checked against its AddressTable entry) the first
    /// time something asks, when loaded lazily.
    func info(index i: Int) -> FunctionInfo? {
        if let f = rows[i] { return f }
        guard let stub, let entry = entry(ofFunction: i) else { return nil }
        let at = layout.functions.lowerBound + i * UnitImage.FunctionRecord.size
        let placedHeader = placedHeaders[i]
        let layout = self.layout
        let entryCount = self.entryCount
        let numbering = self.numbering
        guard var f = read(at..<at + UnitImage.FunctionRecord.size, body: { image -> (FunctionInfo, Range<Int>)? in
            let r = ByteReader(base: image)
            guard let row = try? UnitImage.FunctionRecord(r, at: at) else { return nil }
            let id = row.id
            let (nameOffset, nameLength, headerOffset) = (Int(row.nameOffset), Int(row.nameLength), Int(row.headerOffset))
            let (codeWords, frameSize, parameterCount) = (Int(row.codeWords), row.frameSize, row.parameterCount)
            let (firstLine, lineCount, kindsOffset) = (Int(row.firstLine), Int(row.lineCount), Int(row.kindsOffset))
            guard Int(id) < entryCount, numbering.row(ofId: Int(id)) == i,
                entry.headerOffset == headerOffset, entry.kindsOffset == kindsOffset,
                UInt32(frameSize) == entry.frameSize, UInt32(parameterCount) == entry.parameterCount,
                codeWords > 0, headerOffset % 8 == 0, headerOffset <= layout.code.count,
                codeWords <= (layout.code.count - headerOffset - functionHeaderWords * 8) / 8,
                nameOffset <= layout.strings.count, nameLength <= layout.strings.count - nameOffset
            else { return nil }
            let lineRows = layout.lines.count / UnitImage.LineRecord.size
            guard firstLine <= lineRows, lineCount <= lineRows - firstLine else { return nil }
            let name = layout.strings.lowerBound + nameOffset
            return (FunctionInfo(
                id: id, name: "", header: placedHeader ?? stub, codeWords: codeWords, lines: [], headerOffset: headerOffset,
                firstLine: firstLine, lineCount: lineCount, kindsOffset: kindsOffset), name..<name + nameLength)
        }) else { return nil }
        guard let name = read(f.1, body: { image in String(decoding: UnsafeRawBufferPointer(rebasing: image[f.1]), as: UTF8.self) }),
            name != "main" || entry.parameterCount == 0  // the entry point is called with no arguments
        else { return nil }
        f.0.name = name
        rows[i] = f.0
        return f.0
    }

    /// Function `i`'s signature, from the `kinds` section (`UnitKinds` asks, once each; a
    /// lazily loaded unit finds it from the function's entry, without its row). `entry`: the
    /// function's entry when the caller has read it already (placing a function).
    func signature(index i: Int, entry known: FunctionEntry? = nil) throws(ImageError) -> KindSignature {
        guard let entry = known ?? entry(ofFunction: i) else { throw .malformed(.badFunctionEntry(row: i)) }
        let parameterCount = Int(entry.parameterCount)
        func decode(_ section: UnsafeRawBufferPointer) -> Result<KindSignature, ImageError> {
            Result { () throws(ImageError) in
                try UnitKinds.signature(
                    in: section, at: entry.kindsOffset, parameterCount: parameterCount, functionName: self.functionName(i))
            }
        }
        guard lazySource != nil else { return try kindsBytes.withUnsafeBytes { decode($0) }.get() }
        // Only the record's bytes: a count, a result and a kind per parameter.
        let section = layout.kinds
        let start = section.lowerBound + min(entry.kindsOffset, section.count)
        let end = min(section.upperBound, start + 3 + parameterCount)
        var failure: ImageError? = nil
        let signature = read(start..<end) { image -> KindSignature? in
            switch decode(UnsafeRawBufferPointer(rebasing: image[section.lowerBound..<end])) {
            case .success(let s): return s
            case .failure(let error):
                failure = error
                return nil
            }
        }
        guard let signature else { throw failure ?? .malformed(.unreadableSignature(row: i)) }
        return signature
    }

    /// The source line of the instruction at `word` of `function`, reading the function's line
    /// rows first if the unit was loaded lazily.
    public func line(in function: FunctionInfo, atWord word: Int) -> Int {
        guard Int(function.id) < entryCount, let i = numbering.row(ofId: Int(function.id)) else {
            return function.line(atWord: word)
        }
        guard var f = info(index: i) else { return function.line(atWord: word) }
        if lazySource != nil && f.lines.isEmpty && f.lineCount > 0 {
            let start = layout.lines.lowerBound + f.firstLine * UnitImage.LineRecord.size
            let range = start..<start + f.lineCount * UnitImage.LineRecord.size
            let found = read(range) { image in
                let r = ByteReader(base: image)
                return try? stride(from: range.lowerBound, to: range.upperBound, by: UnitImage.LineRecord.size).map { at in
                    (try r.u32(at + UnitImage.LineRecord.Field.word), try r.u32(at + UnitImage.LineRecord.Field.line))
                }
            }
            f.lines = ArraySlice(found ?? [])
            rows[i]?.lines = f.lines
        }
        return f.line(atWord: word)
    }

    /// The SymbolTable of a lazily loaded unit, read whole (symbols naming a bad Id left out).
    func readSymbols() -> [(name: String, id: UInt32)] {
        symbolsRead = true
        guard lazySource != nil else { return [] }
        let layout = self.layout
        let entryKinds = self.entryKinds
        let strings = layout.strings
        let found = read(layout.symbols, strings) { image -> [(name: String, id: UInt32)]? in
            var symbols: [(name: String, id: UInt32)] = []
            let r = ByteReader(base: image)
            for s in 0..<layout.symbolCount {
                let at = layout.symbols.lowerBound + s * UnitImage.SymbolRecord.size
                guard let offset = try? Int(r.u32(at + UnitImage.SymbolRecord.Field.nameOffset)), let length = try? Int(r.u32(at + UnitImage.SymbolRecord.Field.nameLength)),
                let id = try? r.u32(at + UnitImage.SymbolRecord.Field.id),
                    offset <= strings.count, length <= strings.count - offset, Int(id) < entryKinds.count,
                    entryKinds[Int(id)] == .function || entryKinds[Int(id)] == .global,
                    let name = try? r.string(strings.lowerBound + offset, length)
                else { continue }
                symbols.append((name, id))
            }
            return symbols
        }
        return found ?? []
    }

    /// `symbol(named:)` for a lazily loaded unit: looks the name up in the symbol index (a slot,
    /// a symbol and a name read per probe), comparing bytes.
    func findSymbol(_ wanted: UnsafeBufferPointer<UInt8>) -> UInt32? {
        let layout = self.layout
        let index = layout.symbolIndex
        guard let slotCount = read(index.lowerBound..<min(index.upperBound, index.lowerBound + 4), body: { image -> Int? in
            guard index.count >= 4 else { return nil }
            let count = Int(UInt32(littleEndian: image.loadUnaligned(fromByteOffset: index.lowerBound, as: UInt32.self)))
            // A power of two that fits the section (0: no index).
            return count & (count &- 1) == 0 && count <= (index.count - 4) / 4 ? count : nil
        }), slotCount > 0 else { return nil }
        var slot = Int(UnitImage.nameHash(wanted)) & (slotCount - 1)
        for _ in 0..<slotCount {
            let at = index.lowerBound + 4 + slot * 4
            // Found (.some(id)), not this symbol (.some(nil)), or nil: unreadable.
            guard let symbol = read(at..<at + 4, body: { image -> Int? in
                Int(UInt32(littleEndian: image.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            }) else { return nil }
            if symbol == 0 || symbol > layout.symbolCount { return nil }  // empty slot: not there
            if let id = symbolId(symbol - 1, ifNamed: wanted) { return id }
            slot = (slot + 1) & (slotCount - 1)
        }
        return nil
    }

    /// The Id of symbol `s` if its name is `wanted` (and it names a function or a global).
    func symbolId(_ s: Int, ifNamed wanted: UnsafeBufferPointer<UInt8>) -> UInt32? {
        let layout = self.layout
        let entryKinds = self.entryKinds
        let at = layout.symbols.lowerBound + s * UnitImage.SymbolRecord.size
        guard let row = read(at..<at + UnitImage.SymbolRecord.size, body: { image -> (Int, Int, UInt32)? in
            let r = ByteReader(base: image)
            guard let offset = try? Int(r.u32(at + UnitImage.SymbolRecord.Field.nameOffset)), let length = try? Int(r.u32(at + UnitImage.SymbolRecord.Field.nameLength)),
                let id = try? r.u32(at + UnitImage.SymbolRecord.Field.id) else {
                return nil
            }
            return (offset, length, id)
        }) else { return nil }
        let (offset, length, id) = row
        guard length == wanted.count, offset <= layout.strings.count, length <= layout.strings.count - offset,
            Int(id) < entryKinds.count, entryKinds[Int(id)] == .function || entryKinds[Int(id)] == .global
        else { return nil }
        let start = layout.strings.lowerBound + offset
        let same = read(start..<start + length) { image -> Bool? in
            length == 0 || memcmp(image.baseAddress! + start, wanted.baseAddress!, length) == 0
        }
        return same == true ? id : nil
    }
}
