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

    public init() {}
}

/// Reads a json-file log (with its rotated files) and frames it for the API: multiplexed
/// stdout/stderr frames without a TTY, raw bytes with one.
struct LogReader: Sendable {
    struct Entry: Decodable {
        let log: String
        let stream: String
        let time: String
    }

    let path: String
    let maxFiles: Int
    let tty: Bool
    let options: LogOptions

    func frames(isRunning: @escaping @Sendable () async -> Bool) -> AsyncStream<[UInt8]> {
        AsyncStream { continuation in
            let task = Task {
                var offset: UInt64 = 0
                var lines: [Substring] = []
                // Opened first and kept: a client may read the stream after the container (and its
                // log file) is gone, as the Python SDK's `run` does.
                var handle = FileHandle(forReadingAtPath: path)
                for file in rotatedFiles() {
                    let data: Data?
                    if file == path {
                        try? handle?.seek(toOffset: 0)
                        data = try? handle?.readToEnd()
                    } else {
                        data = FileManager.default.contents(atPath: file)
                    }
                    guard let data else { continue }
                    if file == path { offset = UInt64(data.count) }
                    let text = String(decoding: data, as: UTF8.self)
                    lines += text.split(separator: "\n")
                }
                if let tail = options.tail { lines = Array(lines.suffix(max(0, tail))) }
                for line in lines { if let frame = frame(line) { continuation.yield(frame) } }
                // Follow: new lines as the shim appends them, until the container stops.
                var pending = ""
                while options.follow, !Task.isCancelled {
                    let running = await isRunning()
                    // A rotation put a new file at the path: continue in it.
                    if handle == nil || Self.isReplaced(path, handle!) {
                        if let fresh = FileHandle(forReadingAtPath: path) {
                            try? handle?.close()
                            handle = fresh
                            offset = 0
                        }
                    }
                    if let handle {
                        let size = (try? handle.seekToEnd()) ?? 0
                        if size < offset { offset = 0 }
                        try? handle.seek(toOffset: offset)
                        let data = (try? handle.readToEnd()) ?? Data()
                        offset += UInt64(data.count)
                        pending += String(decoding: data, as: UTF8.self)
                        while let newline = pending.firstIndex(of: "\n") {
                            if let frame = frame(pending[..<newline]) { continuation.yield(frame) }
                            pending = String(pending[pending.index(after: newline)...])
                        }
                    }
                    if !running { break }
                    try? await Task.sleep(nanoseconds: 50_000_000)
                }
                try? handle?.close()
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Whether `path` now names another file than the open `handle` (rotated), or none (removed: keep reading the old one).
    static func isReplaced(_ path: String, _ handle: FileHandle) -> Bool {
        var current = stat(), open = stat()
        guard stat(path, &current) == 0, fstat(handle.fileDescriptor, &open) == 0 else { return false }
        return current.st_ino != open.st_ino || current.st_dev != open.st_dev
    }

    private func rotatedFiles() -> [String] {
        var files: [String] = []
        for index in stride(from: max(maxFiles, 10), through: 1, by: -1) where FileManager.default.fileExists(atPath: "\(path).\(index)") {
            files.append("\(path).\(index)")
        }
        return files + [path]
    }

    private func frame(_ line: Substring) -> [UInt8]? {
        guard let entry = try? JSONDecoder().decode(Entry.self, from: Data(line.utf8)) else { return nil }
        let isStderr = entry.stream == "stderr"
        if isStderr ? !options.stderr : !options.stdout { return nil }
        if options.since != nil || options.until != nil, let time = Date.parseTimestamp(entry.time) {
            if let since = options.since, time < since { return nil }
            if let until = options.until, time > until { return nil }
        }
        var payload = Array(entry.log.utf8)
        if options.timestamps { payload = Array((entry.time + " ").utf8) + payload }
        if tty { return payload }
        let size = UInt32(payload.count)
        return [isStderr ? 2 : 1, 0, 0, 0, UInt8(size >> 24), UInt8(size >> 16 & 0xff), UInt8(size >> 8 & 0xff), UInt8(size & 0xff)] + payload
    }
}

extension ContainerEngine {
    /// `GET /containers/{id}/logs`: the frames to send, and whether they are raw (TTY).
    public func logs(_ reference: String, options: LogOptions) throws -> (tty: Bool, frames: AsyncStream<[UInt8]>) {
        let id = try resolve(reference)
        let record = containers[id]!
        guard (record.hostConfig["LogConfig"]?["Type"]?.string ?? "json-file") == "json-file" else {
            throw EngineError(.notImplemented, "configured logging driver does not support reading")
        }
        let maxFiles = Int(record.hostConfig["LogConfig"]?["Config"]?["max-file"]?.string ?? "1") ?? 1
        let reader = LogReader(path: record.logPath, maxFiles: maxFiles, tty: record.tty, options: options)
        return (record.tty, reader.frames { [weak self] in await self?.isRunning(id) ?? false })
    }

    public func isRunning(_ id: String) -> Bool { containers[id]?.state.running ?? false }
}
