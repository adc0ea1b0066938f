import Glibc
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// runc-compatible logging: `--log FILE` with `--log-format text|json`, stderr otherwise.
///
/// containerd's shim reads the last `error` line of the JSON log to report why a command failed.
public final class RuntimeLog: Sendable {
    public enum Format: String, Sendable { case text, json }

    private static let current = Mutex(RuntimeLog(path: nil, format: .text, debug: false))

    /// Configured once at start-up by the command-line front end, before any container work.
    public static var shared: RuntimeLog {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }

    /// Kept open (close-on-exec) while a container process is set up, so warnings still reach the log.
    let fd: Int32
    private let format: Format
    private let debugEnabled: Bool

    public init(path: String?, format: Format, debug: Bool) {
        if let path, !path.isEmpty {
            let opened = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            fd = opened >= 0 ? opened : 2
        } else {
            fd = 2
        }
        self.format = format
        self.debugEnabled = debug
    }

    /// Adopts an already open log descriptor (the helper process inherits the runtime's).
    init(fd: Int32, format: Format, debug: Bool) {
        self.fd = fd
        self.format = format
        self.debugEnabled = debug
    }

    var formatName: String { format.rawValue }
    var debugging: Bool { debugEnabled }

    /// Whether messages also need printing to stderr (they go to a file).
    public var writesToFile: Bool { fd != 2 }

    public func error(_ message: String) { write("error", message) }
    public func warning(_ message: String) { write("warning", message) }
    public func debug(_ message: String) { if debugEnabled { write("debug", message) } }

    private func write(_ level: String, _ message: String) {
        let time = Date().formatted(.iso8601)
        let line: String
        switch format {
        case .json:
            struct Entry: Encodable { let level: String; let msg: String; let time: String }
            let data = (try? JSONEncoder().encode(Entry(level: level, msg: message, time: time))) ?? Data()
            line = String(decoding: data, as: UTF8.self) + "\n"
        case .text:
            let escaped = message.replacingQuotes()
            line = "time=\"\(time)\" level=\(level) msg=\"\(escaped)\"\n"
        }
        let bytes = Array(line.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}

extension String {
    /// `"` → `\"` and `\` → `\\`, as logrus quotes a text-format message.
    func replacingQuotes() -> String {
        var out = ""
        for c in self {
            if c == "\"" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
