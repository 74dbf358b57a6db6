/// Text of an F64 as Ribbon prints it: Swift's `Double.description` (shortest text that reads
/// back to the same value), except that every NaN is `nan` whatever its sign.
package func formatF64(_ v: Double) -> String {
    v.isNaN ? "nan" : v.description
}
