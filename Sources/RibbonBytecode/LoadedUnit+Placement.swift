import RibbonCore

/// Lazy placement: the stub every function of a lazily loaded unit starts as, `load_code`'s
/// callee, placing a function's code (checked, verified, in memory of its own), and the warm
/// set — the ranges of the image a run used, which the cache reads first next time.
extension LoadedUnit {
    /// A stub: a function header and one `load_code` word.
    static let stubBytes = functionHeaderWords * 8 + 8

    /// A lazily loaded unit's functions all start as one stub: its header has frame size 0 (the
    /// caller's stack check passes; `load_code` checks the placed function's own frame) and
    /// this Id, which is no function's, and its one word is `load_code`, which finds the
    /// function from the call that got there (`placedCallee`). So loading writes the same
    /// value into every function's slot and reads none of their entries.
    public static let stubId = UInt32.max

    /// For the interpreter's `load_code` in the stub: the function that the `call` word
    /// at `callPC` of the function `caller` calls, placed (its own, or the one it imports).
    public static func placedCallee(
        callPC: UnsafePointer<UInt64>, caller: UnsafePointer<FunctionHeader>
    ) -> UnsafeMutablePointer<FunctionHeader>? {
        guard let unit = owning(caller) else { return nil }
        let id = Int(truncatingIfNeeded: callPC.pointee >> 32)
        guard id >= 0, id < unit.entryCount else { return nil }
        switch unit.entryKinds[id] {
        case .function:
            guard let index = unit.numbering.row(ofId: id) else { return nil }
            return unit.place(index: index)
        case .imported:
            guard let link = unit.linkedSlots.first(where: { $0.slot == unit.addressTable + id }) else { return nil }
            let exporter = link.exporter
            guard Int(link.id) < exporter.entryCount, let index = exporter.numbering.row(ofId: Int(link.id)) else {
                return nil
            }
            return exporter.place(index: index)
        default:
            return nil
        }
    }

    /// Per function row: its header once its code is placed (all of them when loaded at once),
    /// in zero-filled memory like `RowTable`'s slots.
    struct PlacedHeaders {
        private let words: ZeroFilledWords

        init(count: Int) { words = ZeroFilledWords(count: count) }

        subscript(index: Int) -> UnsafeMutablePointer<FunctionHeader>? {
            get { UnsafeMutablePointer(bitPattern: UInt(words[index])) }
            nonmutating set { words[index] = UInt64(UInt(bitPattern: newValue)) }
        }

        /// How many are placed (reads every slot).
        var count: Int { (0..<words.count).reduce(0) { $0 + (words[$1] == 0 ? 0 : 1) } }
    }

    /// Functions whose code has been placed (all of them when loaded at once).
    public var placedCount: Int { placedHeaders.count }

    /// Makes sure the function's code is in place, checked and verified (for a lazily loaded
    /// unit; always true otherwise). False only if neither the image nor the fallback gives
    /// code that passes the checks.
    @discardableResult
    public func placeCode(_ function: FunctionInfo) -> Bool {
        guard Int(function.id) < entryCount, let index = numbering.row(ofId: Int(function.id)) else { return false }
        return place(index: index) != nil
    }

    /// The function with its code in place, checked and verified (a lazily loaded unit places
    /// it now, in memory of its own, and points its AddressTable entry there unless machine
    /// code is already in it). Nil only if neither the image nor the fallback gives code that
    /// passes the checks.
    public func placed(_ function: FunctionInfo) -> FunctionInfo? { placed(id: function.id) }

    public func placed(id: UInt32) -> FunctionInfo? {
        guard Int(id) < entryCount, let index = numbering.row(ofId: Int(id)) else { return nil }
        guard place(index: index) != nil else { return nil }
        return info(index: index)
    }

    /// Places function `i` (lazily: its code from the image, checked against its stub,
    /// verified, in memory of its own; no row is read) and returns its header.
    func place(index i: Int) -> UnsafeMutablePointer<FunctionHeader>? {
        if let header = placedHeaders[i] { return header }
        guard let stub, let entry = entry(ofFunction: i) else { return nil }
        let headerBytes = functionHeaderWords * 8
        let start = layout.code.lowerBound + entry.headerOffset
        let code = layout.code
        // The image's header says how many words follow it.
        guard let words = read(start..<start + headerBytes, body: { image -> Int? in
            let words = Int(image.loadUnaligned(fromByteOffset: start + 28, as: UInt32.self))
            return words > 0 && words <= (code.upperBound - start - headerBytes) / 8 ? words : nil
        }) else { return nil }
        let signature = try? signature(index: i, entry: entry)
        let block = UnsafeMutableRawPointer.allocate(byteCount: headerBytes + words * 8, alignment: 16)
        guard let signature, read(start..<start + headerBytes + words * 8, body: { image in
            place(i, entry: entry, words: words, signature: signature, from: image, at: start, into: block) ? true : nil
        }) != nil else {
            block.deallocate()
            return nil
        }
        placedMemory.append(block)
        let header = block.assumingMemoryBound(to: FunctionHeader.self)
        placedHeaders[i] = header
        rows[i]?.header = header
        // Callers now find the code; machine code already in the entry stays.
        if addressTable[Int(entry.id)] == UInt64(UInt(bitPattern: stub)) | bytecodeEntryTag {
            setEntry(entry.id, to: UInt64(UInt(bitPattern: header)) | bytecodeEntryTag)
        }
        // Placed first, so that machine code installed here finds the header it refers to.
        onPlaced?(entry.id)
        return header
    }

    /// Checks the function's image header against its stub, verifies its words, and copies
    /// header and words into `block`.
    func place(
        _ i: Int, entry: FunctionEntry, words: Int, signature: KindSignature,
        from image: UnsafeRawBufferPointer, at start: Int, into block: UnsafeMutableRawPointer
    ) -> Bool {
        let headerBytes = functionHeaderWords * 8
        guard start >= 0, start + headerBytes + words * 8 <= image.count, let base = image.baseAddress else { return false }
        var header = base.advanced(by: start).loadUnaligned(as: FunctionHeader.self)
        guard header.frameSize == entry.frameSize, header.parameterCount == entry.parameterCount,
            header.functionId == entry.id, header.codeWords == UInt32(words)
        else { return false }
        let code = base.advanced(by: start + headerBytes).assumingMemoryBound(to: UInt64.self)
        do {
            try verifier.verify(
                code: UnsafeBufferPointer(start: code, count: words), frameSize: Int(header.frameSize),
                functionName: self.functionName(i), signature: signature)
        } catch {
            return false
        }
        header.addressTable = addressTable
        header.unit = Unmanaged.passUnretained(self).toOpaque()
        header.hotness = 0
        block.storeBytes(of: header, as: FunctionHeader.self)
        block.advanced(by: headerBytes).copyMemory(from: code, byteCount: words * 8)
        return true
    }


    /// The parts of the image this run has used, for the cache to read first next time: the
    /// code and signature of every function that was called (or placed), the entries that were
    /// read (those functions' and their callees'), and what finding and calling `main` reads
    /// (its symbol-index slots, symbol, name and row).
    public func usedImageRanges() -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        let main = symbol(named: "main").flatMap { Int($0) < entryCount ? numbering.row(ofId: Int($0)) : nil }
        for i in Set(entriesRead) {
            let at = layout.entries.lowerBound + Int(numbering.id(ofRow: i)) * UnitImage.EntryRecord.size
            ranges.append(at..<at + UnitImage.EntryRecord.size)
        }
        for i in 0..<functionCount {
            let called = lazySource == nil ? (rows[i]?.header.pointee.hotness ?? 0) > 0 : placedHeaders[i] != nil
            guard called || i == main, let entry = entry(ofFunction: i) else { continue }
            let parameters = Int(entry.parameterCount)
            let code = layout.code.lowerBound + entry.headerOffset
            let words = rows[i]?.codeWords ?? Int(placedHeaders[i]?.pointee.codeWords ?? 0)
            ranges.append(code..<code + functionHeaderWords * 8 + words * 8)
            let kinds = layout.kinds.lowerBound + entry.kindsOffset
            ranges.append(kinds..<kinds + 3 + parameters)
            if i == main {
                let row = layout.functions.lowerBound + i * UnitImage.FunctionRecord.size
                ranges.append(row..<row + UnitImage.FunctionRecord.size)
            }
        }
        // `symbol(named: "main")`: the first slots of its probe, the symbol rows, the name.
        if let mainSymbol = symbolList.firstIndex(where: { $0.name == "main" }) {
            let slots = layout.symbolIndex
            let slotCount = max(1, (slots.count - 4) / 4)
            if slots.count > 4, slotCount & (slotCount - 1) == 0 {
                let first = Int(UnitImage.nameHash("main".utf8)) & (slotCount - 1)
                ranges.append(slots.lowerBound..<slots.lowerBound + 4)
                ranges.append(slots.lowerBound + 4 + first * 4..<slots.lowerBound + 4 + min(slotCount, first + 8) * 4)
            }
            let symbol = layout.symbols.lowerBound + mainSymbol * UnitImage.SymbolRecord.size
            ranges.append(symbol..<symbol + UnitImage.SymbolRecord.size)
        }
        return ranges
    }
}
