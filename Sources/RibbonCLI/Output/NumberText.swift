// Counts and fractions in words and digits: `3 units`, `12.5%`, `1.04`.

func plural(_ count: Int, _ singular: String, _ pluralForm: String? = nil) -> String {
    "\(count) \(count == 1 ? singular : pluralForm ?? singular + "s")"
}

func percent(_ value: Double) -> String { decimal(value * 100, places: 1) + "%" }

/// A non-negative number with `places` decimals (no Foundation `String(format:)`).
func decimal(_ value: Double, places: Int) -> String {
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let scaled = Int64((value * scale).rounded())
    let whole = scaled / Int64(scale)
    let fraction = String(scaled % Int64(scale))
    return places == 0 ? "\(whole)" : "\(whole)." + String(repeating: "0", count: places - fraction.count) + fraction
}
