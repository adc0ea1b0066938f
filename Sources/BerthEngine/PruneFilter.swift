#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The filters of Docker's prune endpoints, checked and applied as dockerd does:
/// `until` (a timestamp or a Go duration before now), `label` (`k` or `k=v`: every one must
/// match), `label!` (skip what matches every one), and for images `dangling`.
public struct PruneFilter: Sendable {
    public let until: Date?
    public let labels: [String]
    public let excludedLabels: [String]
    /// `dangling` (images): true unless the client says false.
    public let danglingOnly: Bool

    /// Refuses filters the endpoint does not know (dockerd: `invalid filter 'x'`) and values it
    /// cannot read, instead of ignoring them: an ignored filter widens what a prune deletes.
    public init(_ filters: [String: [String]], accepting: Set<String> = ["until", "label", "label!"], now: Date = Date()) throws {
        for key in filters.keys.sorted() where !accepting.contains(key) {
            throw EngineError(.badRequest, "invalid filter '\(key)'")
        }
        let untils = filters["until"] ?? []
        guard untils.count <= 1 else { throw EngineError(.badRequest, "more than one until filter specified") }
        until = try untils.first.map { try Self.timestamp($0, now: now) }
        labels = filters["label"] ?? []
        excludedLabels = filters["label!"] ?? []
        let dangling = filters["dangling"] ?? []
        switch Set(dangling.map { $0.lowercased() }) {
        case [], ["true"], ["1"]: danglingOnly = true
        case ["false"], ["0"]: danglingOnly = false
        default: throw EngineError(.badRequest, "invalid filter 'dangling=\(dangling.joined(separator: ","))'")
        }
    }

    /// Whether an object with these labels, created then, is one the prune may remove.
    public func selects(labels objectLabels: [String: String], created: Date?) -> Bool {
        if let until, let created, created >= until { return false }
        if until != nil && created == nil { return false }
        if !Self.matchAll(labels, objectLabels) { return false }
        if !excludedLabels.isEmpty && Self.matchAll(excludedLabels, objectLabels) { return false }
        return true
    }

    /// moby's MatchKVList: every `k` or `k=v` is in `labels`.
    static func matchAll(_ filters: [String], _ labels: [String: String]) -> Bool {
        filters.allSatisfy { filter in
            let parts = filter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let value = labels[String(parts[0])] else { return false }
            return parts.count == 1 || value == parts[1]
        }
    }

    /// A Go duration before `now` (`24h`, `1h30m`, `90s`), an RFC 3339 time, or Unix seconds.
    static func timestamp(_ text: String, now: Date) throws -> Date {
        if text != "0", let seconds = goDuration(text) { return now.addingTimeInterval(-seconds) }
        if let date = Date.parseTimestamp(text) { return date }
        throw EngineError(.badRequest, "failed to parse value as time or duration: \"\(text)\"")
    }

    /// Go's time.ParseDuration, in seconds (nil when not a duration).
    static func goDuration(_ text: String) -> Double? {
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
}
