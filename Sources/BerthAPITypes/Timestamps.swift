import Foundation

/// Times as the Engine API writes and reads them (Go's RFC 3339, Unix seconds).
extension Date {
    /// RFC 3339 with nanoseconds, as Go's `time.RFC3339Nano` prints UTC times.
    public var rfc3339Nano: String {
        // Clamped to years 0001–9999: a client's time (an image's `created`) may be anything.
        let seconds = timeIntervalSince1970.isFinite ? max(-62_135_596_800, min(timeIntervalSince1970, 253_402_300_799)) : 0
        let whole = floor(seconds)
        return Date.rfc3339(seconds: Int(whole), nanoseconds: Int((seconds - whole) * 1e9))
    }

    /// Whole seconds since 1970, for `Created` fields: never traps, whatever time a client's
    /// image config gave (`1e300` would overflow an Int64).
    public var unixSeconds: Int64 {
        let seconds = timeIntervalSince1970
        guard seconds.isFinite else { return 0 }
        return Int64(max(-9.2e18, min(seconds, 9.2e18)))
    }

    public static func rfc3339(seconds: Int, nanoseconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var text = "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
        if nanoseconds > 0 {
            var fraction = pad(Int32(nanoseconds), 9)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text + "Z"
    }

    /// Zero-padded decimal (no `String(format:)`: it would load ICU's data into the daemon).
    static func pad(_ value: Int32, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Parses RFC 3339 (`2026-11-22T10:00:00.123456789Z`, `…+01:00`) or Unix seconds
    /// (`since`/`until` filters).
    public static func parseTimestamp(_ text: String) -> Date? {
        if let seconds = Double(text) { return Date(timeIntervalSince1970: seconds) }
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int32? {
            guard range.upperBound <= bytes.count else { return nil }
            return Int32(String(decoding: bytes[range], as: UTF8.self))
        }
        guard bytes.count >= 19, let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        var seconds = Double(timegm(&parts))
        var index = 19
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            var end = index + 1
            while end < bytes.count, bytes[end] >= 48, bytes[end] <= 57 { end += 1 }
            seconds += Double("0" + String(decoding: bytes[index..<end], as: UTF8.self)) ?? 0
            index = end
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-"),
           let offsetHours = number(index + 1..<index + 3), let offsetMinutes = number(index + 4..<index + 6) {
            let offset = Double(offsetHours * 3600 + offsetMinutes * 60)
            seconds += bytes[index] == UInt8(ascii: "+") ? -offset : offset
        }
        return Date(timeIntervalSince1970: seconds)
    }

}
