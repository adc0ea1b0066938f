import BerthAPITypes
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
        if text != "0", let seconds = GoDuration.seconds(text) { return now.addingTimeInterval(-seconds) }
        if let date = Date.parseTimestamp(text) { return date }
        throw EngineError(.badRequest, "failed to parse value as time or duration: \"\(text)\"")
    }
}
