import BerthArchive
import Foundation

/// What `docker logs` asks for.
public struct LogOptions: Sendable {
    public var stdout = true
    public var stderr = true
    public var since: Date?
    public var until: Date?
    public var timestamps = false
    /// Last N lines; `nil` for all.
    public var tail: Int?
    public var follow = false
    /// `--details`: each line starts with its `attrs` (labels, env, tag).
    public var details = false

    public init() {}
}

/// Reads a json-file log (with its rotated files) and frames it for the API: multiplexed
/// stdout/stderr frames without a TTY, raw bytes with one.
struct LogReader: Sendable {
    struct Entry: Decodable {
        let log: String
        let stream: String
        let time: String
        let attrs: [String: String]?
    }

    let path: String
    let maxFiles: Int
    let tty: Bool
    let options: LogOptions

    /// The log's frames, read as the client takes them (at most `LogCursor.batch` bytes a
    /// step): a log of any size streams in bounded memory.
    func frames(isRunning: @escaping @Sendable () async -> Bool) -> AsyncStream<[UInt8]> {
        let cursor = LogCursor(reader: self, isRunning: isRunning)
        return AsyncStream(unfolding: { await cursor.next() })
    }

    /// Oldest first. A rotated file is `FILE.N`, or `FILE.N.gz` with `compress` (`FILE.1` while
    /// the shim is still compressing it).
    func rotatedFiles() -> [String] {
        var files: [String] = []
        for index in stride(from: max(maxFiles, 10), through: 1, by: -1) {
            for name in ["\(path).\(index).gz", "\(path).\(index)"] where FileManager.default.fileExists(atPath: name) {
                files.append(name)
                break
            }
        }
        return files
    }

    /// One log line (a json-file entry) as the client gets it; nil if filtered out or unreadable.
    func frame(_ line: ArraySlice<UInt8>) -> [UInt8]? {
        guard let entry = try? JSONDecoder().decode(Entry.self, from: Data(line)) else { return nil }
        let isStderr = entry.stream == "stderr"
        if isStderr ? !options.stderr : !options.stdout { return nil }
        if options.since != nil || options.until != nil, let time = Date.parseTimestamp(entry.time) {
            if let since = options.since, time < since { return nil }
            if let until = options.until, time > until { return nil }
        }
        var payload = Array(entry.log.utf8)
        if options.details { payload = Array((Self.detailsPrefix(entry.attrs ?? [:]) + " ").utf8) + payload }
        if options.timestamps { payload = Array((entry.time + " ").utf8) + payload }
        if tty { return payload }
        let size = UInt32(payload.count)
        return [isStderr ? 2 : 1, 0, 0, 0, UInt8(size >> 24), UInt8(size >> 16 & 0xff), UInt8(size >> 8 & 0xff), UInt8(size & 0xff)] + payload
    }
}

extension LogReader {
    /// dockerd's `--details` prefix: `key=value` pairs sorted by key, query-escaped, comma-separated.
    static func detailsPrefix(_ attributes: [String: String]) -> String {
        attributes.sorted { $0.key < $1.key }.map { queryEscape($0.key) + "=" + queryEscape($0.value) }.joined(separator: ",")
    }

    /// Go's url.QueryEscape.
    static func queryEscape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            case UInt8(ascii: " "): out.append("+")
            default: out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

extension ContainerEngine {
    /// `GET /containers/{id}/logs`: the frames to send, and whether they are raw (TTY).
    public func logs(_ reference: String, options: LogOptions) throws -> (tty: Bool, frames: AsyncStream<[UInt8]>) {
        let id = try resolve(reference)
        let record = containers[id]!
        guard (record.hostConfig.logConfig?.type ?? "json-file") == "json-file" else {
            throw EngineError(.notImplemented, "configured logging driver does not support reading")
        }
        let reader = LogReader(path: record.logPath, maxFiles: record.jsonFileLog?.maxFiles ?? 1, tty: record.tty, options: options)
        return (record.tty, reader.frames { [weak self] in await self?.isRunning(id) ?? false })
    }

    public func isRunning(_ id: String) -> Bool { containers[id]?.state.running ?? false }
}
