// The layouts of text output: aligned columns (`table`) and label-value lines (`fields`).

/// Columns padded to the widest cell; `right` holds the indices of right-aligned (numeric)
/// columns. The last column is not padded, so lines carry no trailing blanks.
func table(_ header: [String], _ rows: [[String]], right: Set<Int> = [], indent: String = "") -> String {
    let all = [header] + rows
    var widths = Array(repeating: 0, count: header.count)
    for row in all {
        for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
    }
    var out = ""
    for row in all {
        var line = indent
        for (i, cell) in row.enumerated() {
            let pad = String(repeating: " ", count: widths[i] - cell.count)
            let last = i == row.count - 1
            line += right.contains(i) ? pad + cell : (last ? cell : cell + pad)
            if !last { line += "  " }
        }
        out += line + "\n"
    }
    return out
}

/// "label   value" lines with the labels padded to one width.
func fields(_ pairs: [(String, String)], indent: String = "") -> String {
    let width = pairs.map(\.0.count).max() ?? 0
    return pairs.map { indent + $0.0 + String(repeating: " ", count: width - $0.0.count + 2) + $0.1 + "\n" }.joined()
}
