import BerthOCI
import Foundation

/// Docker's JSON progress message (the `jsonmessage` lines of `POST /images/create` and push),
/// which the docker CLI renders as bars.
public struct ProgressMessage: Codable, Equatable, Sendable {
    public struct Detail: Codable, Equatable, Sendable {
        public var current: Int64?
        public var total: Int64?
    }

    public var status: String
    public var id: String?
    public var progressDetail: Detail?
    /// The bar as Docker prints it: `[=====>        ]  1.049MB/2.151MB`.
    public var progress: String?

    public init(status: String, id: String? = nil, current: Int64? = nil, total: Int64? = nil) {
        self.status = status
        self.id = id
        if let current {
            progressDetail = Detail(current: current, total: total)
            progress = Self.bar(current: current, total: total)
        }
    }

    /// `[====>    ]  12.3MB/45.6MB`: 50 steps and a `>`, the count right-aligned in 8 columns,
    /// as Docker's jsonmessage draws it.
    public static func bar(current: Int64, total: Int64?) -> String {
        guard let total, total > 0 else { return humanSize(current) }
        let filled = max(0, min(50, Int(Double(current) / Double(total) * 50)))
        let bar = String(repeating: "=", count: filled) + ">" + String(repeating: " ", count: 50 - filled)
        let now = humanSize(current)
        return "[\(bar)] " + String(repeating: " ", count: max(0, 8 - now.count)) + "\(now)/\(humanSize(total))"
    }

    /// Docker's human sizes: decimal units, four significant digits (`2.151MB`, `512B`).
    public static func humanSize(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        var text = String(format: "%.4g", value)
        if text.contains("e") { text = String(format: "%.0f", value) }
        return text + units[unit]
    }
}

/// Turns progress messages into what a user sees: on a terminal, one line per layer redrawn in
/// place (Docker's bars); elsewhere, one plain line per status change, never per byte.
public struct ProgressRenderer: Sendable {
    public enum Mode: Sendable { case terminal, plain }

    public let mode: Mode
    private var order: [String] = []
    private var lines: [String: String] = [:]
    private var lastStatus: [String: String] = [:]

    public init(mode: Mode) {
        self.mode = mode
    }

    /// The text to write for `message` (possibly empty).
    public mutating func render(_ message: ProgressMessage) -> String {
        guard let id = message.id else {
            // Messages without an id (Pulling from, Digest) are lines of their own.
            return message.status + "\n"
        }
        let line = "\(id): \(message.status)" + (message.progress.map { " " + $0 } ?? "")
        switch mode {
        case .plain:
            defer { lastStatus[id] = message.status }
            return lastStatus[id] == message.status ? "" : "\(id): \(message.status)\n"
        case .terminal:
            if let index = order.firstIndex(of: id) {
                // Up to the layer's line, rewrite it, come back down.
                let up = order.count - index
                lines[id] = line
                return "\u{1B}[\(up)A\u{1B}[2K\r\(line)\u{1B}[\(up)B\r"
            }
            order.append(id)
            lines[id] = line
            return line + "\n"
        }
    }
}
