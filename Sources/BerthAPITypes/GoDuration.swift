/// Go's `time.ParseDuration` (`1h30m`, `250ms`, `1.5s`, `-2m`, `0`), which Docker takes for
/// prune's `until` and the health-check flags.
public enum GoDuration {
    /// In seconds (nil when not a duration).
    public static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        var rest = Substring(text)
        var sign = 1.0
        if rest.first == "-" || rest.first == "+" {
            sign = rest.first == "-" ? -1 : 1
            rest = rest.dropFirst()
        }
        guard !rest.isEmpty else { return nil }
        if rest == "0" { return 0 }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let (unit, scale) = units.filter({ rest.hasPrefix($0.0) }).max(by: { $0.0.count < $1.0.count }) else { return nil }
            rest = rest.dropFirst(unit.count)
            total += value * scale
        }
        return sign * total
    }

    /// In nanoseconds, as the API's health-check fields take them (nil when not a duration or
    /// out of an Int64's range).
    public static func nanoseconds(_ text: String) -> Int64? {
        guard let seconds = seconds(text), abs(seconds) < 9.2e9 else { return nil }
        return Int64((seconds * 1e9).rounded())
    }
}
