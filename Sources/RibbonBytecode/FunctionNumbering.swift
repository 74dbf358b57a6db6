/// Which function row each AddressTable Id names, and which Id each row has.
///
/// Below the image's function prefix, Id n names row n (UnitImage.md, "The function prefix"),
/// so nothing is stored for those: a unit of 5,000 functions keeps two arrays as long as the
/// Ids and rows past the prefix (a dozen builtins, constants and globals for compiled code),
/// not two of 5,000 that a warm run would have to fill.
struct FunctionNumbering {
    let prefix: Int
    /// For Ids `prefix ..< entryCount`: the row, or -1 for an entry that is not a function.
    private var rowById: [Int32]
    /// For rows `prefix ..< functionCount`: the Id.
    private var idByRow: [UInt32]

    init(prefix: Int, entryCount: Int, functionCount: Int) {
        self.prefix = prefix
        rowById = [Int32](repeating: -1, count: max(0, entryCount - prefix))
        idByRow = [UInt32](repeating: 0, count: max(0, functionCount - prefix))
    }

    /// The row of the function entry `id`; nil if `id` is not one.
    func row(ofId id: Int) -> Int? {
        if id < prefix { return id >= 0 ? id : nil }
        let i = id - prefix
        guard i < rowById.count, rowById[i] >= 0 else { return nil }
        return Int(rowById[i])
    }

    /// The Id of row `row` (below the function count).
    func id(ofRow row: Int) -> UInt32 {
        row < prefix ? UInt32(row) : idByRow[row - prefix]
    }

    /// Records that function entry `id` names row `row`, both past the prefix.
    mutating func set(id: Int, row: Int) {
        rowById[id - prefix] = Int32(row)
        idByRow[row - prefix] = UInt32(id)
    }
}
