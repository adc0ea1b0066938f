/// Sizes as Docker's flags take them (go-units `RAMInBytes`): a number, optionally a unit
/// `k`, `m`, `g`, `t` or `p` (powers of 1024), optionally followed by `i` and/or `b`, any case:
/// `512`, `10m`, `1.5g`, `64MiB`, `2 GB`. Anything else is not a size (`1bb`, `m`, `-1`).
public enum ByteSize {
    public static func parse(_ text: String) -> Int64? {
        var rest = Substring(text.lowercased())
        let number = rest.prefix { $0.isNumber || $0 == "." }
        guard !number.isEmpty, let value = Double(number), value >= 0 else { return nil }
        rest = rest.dropFirst(number.count)
        if rest.first == " " { rest = rest.dropFirst() }
        var factor: Double = 1
        if let unit = rest.first, let power = "kmgtp".firstIndex(of: unit) {
            factor = Double(1 << (10 * ("kmgtp".distance(from: "kmgtp".startIndex, to: power) + 1)))
            rest = rest.dropFirst()
        }
        if rest.first == "i" { rest = rest.dropFirst() }
        if rest.first == "b" { rest = rest.dropFirst() }
        guard rest.isEmpty else { return nil }
        let bytes = value * factor
        guard bytes < 9.2e18 else { return nil }
        return Int64(bytes)
    }
}
