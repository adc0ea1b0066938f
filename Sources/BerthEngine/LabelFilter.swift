/// Docker's `label` filter: `key`, `key=value` or `key!=value`, matched against a set of labels.
public struct LabelFilter: Sendable, Equatable {
    public let key: String
    /// `nil` for `key` alone (the label must exist, any value).
    public let value: String?
    public let negated: Bool

    public init(_ text: String) {
        if let range = text.range(of: "!=") {
            key = String(text[..<range.lowerBound])
            value = String(text[range.upperBound...])
            negated = true
        } else if let equals = text.firstIndex(of: "=") {
            key = String(text[..<equals])
            value = String(text[text.index(after: equals)...])
            negated = false
        } else {
            key = text
            value = nil
            negated = false
        }
    }

    public func matches(_ labels: [String: String]) -> Bool {
        guard let value else { return labels[key] != nil }
        return (labels[key] == value) != negated
    }

    /// Whether `labels` satisfy every filter (Docker ANDs repeated `label` filters).
    public static func matchAll(_ filters: [String], _ labels: [String: String]) -> Bool {
        filters.allSatisfy { LabelFilter($0).matches(labels) }
    }
}
