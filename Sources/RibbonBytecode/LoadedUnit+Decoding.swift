#if canImport(Glibc)
import Glibc
#endif
import RibbonCore

/// Decoding a unit image into fresh memory: the header and section table, the allocation,
/// the AddressTable (`LoadedUnit+Relocation.swift`), and — when loaded at once — the symbols
/// and every function row, checked against its entry and header.
extension LoadedUnit {
    struct LoadedParts {
        var layout: Layout
        var rows: RowTable
        var stub: UnsafeMutablePointer<FunctionHeader>?
        var numbering: FunctionNumbering
        var table: UnsafeMutablePointer<UInt64>
        var entryKinds: [AddressTableEntryKind]
        /// What the verifier checks each Id against: an import counts as what it names.
        var verifiedKinds: [AddressTableEntryKind]
        var entryNames: [Int: String]
        var importedKinds: [Int: AddressTableEntryKind]
        var imports: [(slot: Int, symbol: ImportedSymbol)]
        /// The Ids of the globals whose initialiser is a constant's address (a `Str`).
        var globalIsString: [Int]
        var interface: [UInt8]
        var kindsBytes: [UInt8]
        /// Nil when loaded lazily (read on first use).
        var symbols: [(name: String, id: UInt32)]?
        var foreign: [Int: ForeignFunction]
        var memory: UnsafeMutableRawPointer
        var memorySize: Int
    }

    static func decode(
        _ r: ByteReader, resolver: SymbolResolver, lazy source: UnitImageSource?
    ) throws(ImageError) -> LoadedParts {
        guard r.base.count >= UnitImage.headerSize else { throw .truncated }
        // Lazily: fetch (and check) a range of the image before reading it.
        func need(_ range: Range<Int>) throws(ImageError) {
            guard let source else { return }
            do {
                try source.ensure(range)
            } catch {
                throw .malformed(.sourceFailed("\(error)"))
            }
        }
        try need(0..<UnitImage.headerSize)
        for (i, m) in UnitImage.magic.enumerated() where try r.u8(i) != m { throw .badMagic }
        let version = try r.u32(UnitImage.HeaderField.version)
        guard version == UnitImage.formatVersion else { throw .unsupportedVersion(version) }
        let entryCount = Int(try r.u32(UnitImage.HeaderField.entryCount))
        let symbolCount = Int(try r.u32(UnitImage.HeaderField.symbolCount))
        let functionCount = Int(try r.u32(UnitImage.HeaderField.functionCount))
        let globalCount = Int(try r.u32(UnitImage.HeaderField.globalCount))
        var sections: [Range<Int>] = []
        for s in UnitImage.Section.allCases {
            let offset = Int(try r.u32(UnitImage.HeaderField.sectionTable + s.rawValue * 8))
            let length = Int(try r.u32(UnitImage.HeaderField.sectionTable + s.rawValue * 8 + 4))
            sections.append(try r.range(offset, length))
        }
        func section(_ s: UnitImage.Section) -> Range<Int> { sections[s.rawValue] }
        // Ids below the prefix are functions, Id n of row n. Lazily, their entries are not read
        // now: each is read and checked when its function is placed or called.
        let functionPrefix = Int(try r.u32(UnitImage.functionPrefixOffset))
        guard functionPrefix <= functionCount, functionPrefix <= entryCount else {
            throw .malformed(.functionPrefixTooLong)
        }
        let unreadPrefix = source == nil ? 0 : functionPrefix
        guard section(.entries).count == entryCount * UnitImage.EntryRecord.size,
            section(.symbols).count == symbolCount * UnitImage.SymbolRecord.size,
            section(.functions).count == functionCount * UnitImage.FunctionRecord.size,
            section(.globals).count == globalCount * UnitImage.GlobalRecord.size,
            section(.code).count % 8 == 0, section(.lines).count % UnitImage.LineRecord.size == 0
        else { throw .malformed(.sectionSizesMismatch) }
        let layout = Layout(
            functionCount: functionCount, symbolCount: symbolCount, entries: section(.entries),
            symbolIndex: section(.symbolIndex), symbols: section(.symbols),
            functions: section(.functions), code: section(.code), strings: section(.strings), lines: section(.lines),
            interface: section(.interface), kinds: section(.kinds))
        // Now: the entries, globals and data. Lazily, the rest is read when it is needed, and of
        // the strings only the names of the entries that have one.
        try need(section(.entries).lowerBound + unreadPrefix * UnitImage.EntryRecord.size..<section(.entries).upperBound)
        for s in [UnitImage.Section.globals, .data] { try need(section(s)) }
        if source == nil {
            for s in UnitImage.Section.allCases { try need(section(s)) }
        }
        let strings = section(.strings)
        func string(_ offset: UInt32, _ length: UInt32) throws(ImageError) -> String {
            guard Int(offset) <= strings.count, Int(length) <= strings.count - Int(offset) else {
                throw .truncated
            }
            try need(strings.lowerBound + Int(offset)..<strings.lowerBound + Int(offset) + Int(length))
            return try r.string(strings.lowerBound + Int(offset), Int(length))
        }
        // Format 4 kept the source path here; an image holds none now.
        guard try r.u32(UnitImage.HeaderField.reserved) == 0 else { throw .malformed(.reservedHeaderWordNotZero) }

        // Allocate: table, globals, then code (or, lazily, the stub), then data.
        let tableBytes = entryCount * 8
        let globalsBytes = globalCount * 8
        let codeRange = section(.code)
        let dataRange = section(.data)
        let codeAt = tableBytes + globalsBytes
        let codeBytes = source == nil ? codeRange.count : stubBytes
        let dataAt = codeAt + codeBytes
        let total = dataAt + dataRange.count
        guard let memory = LoadedUnit.allocate(total, lazy: source != nil) else {
            throw .malformed(.cannotMap(bytes: total))
        }
        var ok = false
        defer { if !ok { LoadedUnit.release(memory, lazy: source != nil, size: total) } }
        // Zero the table and globals (a fresh mapping is zero already); code and data are
        // copied over whole (lazily: the stub now, each function's code when it is placed).
        if source == nil { memory.initializeMemory(as: UInt8.self, repeating: 0, count: max(codeAt, 16)) }
        let table = memory.bindMemory(to: UInt64.self, capacity: entryCount + globalCount)
        let stub: UnsafeMutablePointer<FunctionHeader>? = source == nil ? nil
            : memory.advanced(by: codeAt).bindMemory(to: FunctionHeader.self, capacity: 1)
        if let stub {
            stub.initialize(to: FunctionHeader(
                addressTable: table, unit: nil, frameSize: 0, parameterCount: 0,
                functionId: LoadedUnit.stubId, codeWords: 1, hotness: 0))
            UnsafeMutableRawPointer(stub).advanced(by: functionHeaderWords * 8).storeBytes(
                of: UInt64(Opcode.loadCode.rawValue), as: UInt64.self)
        }
        let stubEntry = stub.map { UInt64(UInt(bitPattern: $0)) | bytecodeEntryTag } ?? 0
        if source == nil {
            memory.advanced(by: codeAt).copyMemory(
                from: r.base.baseAddress!.advanced(by: codeRange.lowerBound), byteCount: codeRange.count)
        }
        if !dataRange.isEmpty {
            memory.advanced(by: dataAt).copyMemory(
                from: r.base.baseAddress!.advanced(by: dataRange.lowerBound), byteCount: dataRange.count)
        }

        // The relocation: the AddressTable's absolute addresses, and the globals' initial values.
        let relocated = try relocate(
            r, resolver: resolver, lazy: source != nil, layout: layout, globals: section(.globals), data: dataRange,
            counts: (entries: entryCount, functions: functionCount, globals: globalCount, prefix: functionPrefix),
            into: (table: table, memory: memory, codeAt: codeAt, dataAt: dataAt, stub: stubEntry), string: string)
        let (kinds, verifiedKinds, names, importedKinds) =
            (relocated.kinds, relocated.verifiedKinds, relocated.names, relocated.importedKinds)
        let (imports, foreign, numbering) = (relocated.imports, relocated.foreign, relocated.numbering)
        let parts = { (rows: RowTable, symbols: [(name: String, id: UInt32)]?) in
            LoadedParts(
                layout: layout, rows: rows, stub: stub, numbering: numbering,
                table: table, entryKinds: kinds, verifiedKinds: verifiedKinds, entryNames: names,
                importedKinds: importedKinds, imports: imports,
                globalIsString: relocated.globalIsString,
                interface: source == nil ? Array(r.base[section(.interface)]) : [],
                kindsBytes: source == nil ? Array(r.base[section(.kinds)]) : [], symbols: symbols, foreign: foreign,
                memory: memory, memorySize: total)
        }
        if source != nil {
            ok = true
            return parts(RowTable(count: functionCount), nil)
        }

        // Loaded at once: the SymbolTable and every function row now.
        var symbols: [(name: String, id: UInt32)] = []
        symbols.reserveCapacity(symbolCount)
        for s in 0..<symbolCount {
            let at = section(.symbols).lowerBound + s * UnitImage.SymbolRecord.size
            let name = try string(try r.u32(at + UnitImage.SymbolRecord.Field.nameOffset), try r.u32(at + UnitImage.SymbolRecord.Field.nameLength))
            let id = try r.u32(at + UnitImage.SymbolRecord.Field.id)
            guard Int(id) < entryCount, kinds[Int(id)] == .function || kinds[Int(id)] == .global else {
                throw .malformed(.symbolNamesBadId(name: name))
            }
            symbols.append((name, id))
        }

        // Functions: check each header against its row, fill in the absolute fields.
        let lineRange = section(.lines)
        let lineRowCount = lineRange.count / UnitImage.LineRecord.size
        // One line table for the unit; each function gets a slice of it.
        var lineTable: [(word: UInt32, line: UInt32)] = []
        lineTable.reserveCapacity(lineRowCount)
        for row in 0..<lineRowCount {
            let rowAt = lineRange.lowerBound + row * UnitImage.LineRecord.size
            lineTable.append((try r.u32(rowAt + UnitImage.LineRecord.Field.word), try r.u32(rowAt + UnitImage.LineRecord.Field.line)))
        }
        var functions: [FunctionInfo] = []
        functions.reserveCapacity(functionCount)
        for f in 0..<functionCount {
            let at = section(.functions).lowerBound + f * UnitImage.FunctionRecord.size
            let row = try UnitImage.FunctionRecord(r, at: at)
            let id = row.id
            let name = try string(row.nameOffset, row.nameLength)
            let (headerOffset, codeWords) = (Int(row.headerOffset), Int(row.codeWords))
            let (frameSize, parameterCount) = (Int(row.frameSize), Int(row.parameterCount))
            let (firstLine, lineCount, kindsOffset) = (Int(row.firstLine), Int(row.lineCount), Int(row.kindsOffset))
            // Its entry (a function's, checked above) gives the same shape, row and offsets.
            let entry = section(.entries).lowerBound + Int(id) * UnitImage.EntryRecord.size
            guard Int(id) < entryCount, numbering.row(ofId: Int(id)) == f,
                case let e = UnitImage.EntryRecord(r.base, at: entry),
                Int(e.k) == frameSize, Int(e.p) == parameterCount,
                e.b == UInt64(headerOffset) | UInt64(kindsOffset) << 32
            else {
                throw .malformed(.functionMismatchesEntry(function: name))
            }
            // The entry point is called with no arguments.
            if parameterCount != 0 && name == "main" {
                throw .malformed(.mainTakesParameters(parameterCount))
            }
            let headerBytes = functionHeaderWords * 8
            guard codeWords <= (codeRange.count - headerOffset - headerBytes) / 8 else {
                throw .malformed(.functionPastCode(function: name))
            }
            guard frameSize <= maximumFrameSize, parameterCount <= frameSize else {
                throw .malformed(.badFrameSize(function: name))
            }
            guard firstLine <= lineRowCount, lineCount <= lineRowCount - firstLine else {
                throw .malformed(.badLineRows(function: name))
            }
            let header = memory.advanced(by: codeAt + headerOffset).assumingMemoryBound(to: FunctionHeader.self)
            guard header.pointee.frameSize == UInt32(frameSize), header.pointee.parameterCount == UInt32(parameterCount),
                header.pointee.functionId == id, header.pointee.codeWords == UInt32(codeWords)
            else { throw .malformed(.headerDisagreesWithRow(function: name)) }
            header.pointee.addressTable = table
            header.pointee.hotness = 0
            functions.append(
                FunctionInfo(
                    id: id, name: name, header: header, codeWords: codeWords,
                    lines: lineTable[firstLine..<firstLine + lineCount], headerOffset: headerOffset, firstLine: firstLine,
                    lineCount: lineCount, kindsOffset: kindsOffset))
        }
        // No two functions' headers and code overlap: otherwise unverified words could be
        // reached, or verified words rewritten. (Each row has its own entry: checked above.)
        var extents = functions.map { f in (f.headerOffset, f.headerOffset + functionHeaderWords * 8 + f.codeWords * 8) }
        // The encoder writes functions in code order; sort only what is not.
        if zip(extents, extents.dropFirst()).contains(where: { $0.0 > $1.0 }) { extents.sort { $0.0 < $1.0 } }
        for (a, b) in zip(extents, extents.dropFirst()) where a.1 > b.0 {
            throw .malformed(.functionsOverlap)
        }
        ok = true
        return parts(RowTable(all: functions), symbols)
    }

    /// The unit's memory: from the allocator when loaded at once or small (zeroed when lazy:
    /// then the table and globals are not written now); a large lazy unit's, a mapping
    /// populated in one call (the AddressTable and the stub, all written now: one system call
    /// instead of a page fault per page). A program of many small files loads thousands of
    /// units, for which a mapping each cost two system calls and a page fault.
    static func allocate(_ size: Int, lazy: Bool) -> UnsafeMutableRawPointer? {
        guard lazy, size >= mappedBytes else {
            let memory = UnsafeMutableRawPointer.allocate(byteCount: max(size, 16), alignment: 16)
            if lazy { memory.initializeMemory(as: UInt8.self, repeating: 0, count: max(size, 16)) }
            return memory
        }
        let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0)
        guard let mapped, mapped != MAP_FAILED else { return nil }
        return mapped
    }

    static func release(_ memory: UnsafeMutableRawPointer, lazy: Bool, size: Int) {
        if lazy, size >= mappedBytes { munmap(memory, size) } else { memory.deallocate() }
    }

    /// Lazily loaded units at least this big are mapped (`allocate`).
    static let mappedBytes = 64 << 10
}
