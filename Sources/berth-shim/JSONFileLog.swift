import CShimLibc

/// Docker's `json-file` log driver: one JSON object per line,
/// `{"log":"text\n","stream":"stdout","time":"2026-11-22T10:00:00.123456789Z"}`,
/// rotated to `FILE.1 … FILE.(max-1)` when it would grow past `maxSize` bytes.
struct JSONFileLog {
    private let path: String
    private let maxSize: Int64
    private let maxFiles: Int
    private var fd: Int32
    private var size: Int64
    /// Incomplete last line per stream (1 stdout, 2 stderr): docker logs whole lines.
    private var pending: [UInt8: [UInt8]] = [:]

    init(path: String, maxSize: Int64, maxFiles: Int) {
        self.path = path
        self.maxSize = maxSize
        self.maxFiles = maxFiles
        fd = shim_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        var info = stat()
        size = fstat(fd, &info) == 0 ? Int64(info.st_size) : 0
    }

    mutating func write(stream: UInt8, _ bytes: ArraySlice<UInt8>) {
        guard fd >= 0 else { return }
        var buffer = pending[stream, default: []]
        buffer.append(contentsOf: bytes)
        var start = buffer.startIndex
        while let newline = buffer[start...].firstIndex(of: 10) {
            append(stream: stream, line: buffer[start...newline])
            start = newline + 1
        }
        // Very long lines are cut as docker does (16 KiB), so memory stays bounded.
        if buffer.count - start >= 16 * 1024 {
            append(stream: stream, line: buffer[start...])
            start = buffer.endIndex
        }
        pending[stream] = Array(buffer[start...])
    }

    /// Writes partial lines left at end of output.
    mutating func flush() {
        for (stream, rest) in pending where !rest.isEmpty { append(stream: stream, line: rest[...]) }
        pending = [:]
    }

    private mutating func append(stream: UInt8, line: ArraySlice<UInt8>) {
        var record: [UInt8] = Array(#"{"log":""#.utf8)
        JSONFileLog.escape(line, into: &record)
        record += Array((stream == 2 ? #"","stream":"stderr","time":""# : #"","stream":"stdout","time":""#).utf8)
        record += Array(Timestamp.now().rfc3339.utf8)
        record += Array("\"}\n".utf8)
        if maxSize > 0, size + Int64(record.count) > maxSize, size > 0 { rotate() }
        record.withUnsafeBytes { _ = CShimLibc.write(fd, $0.baseAddress, $0.count) }
        size += Int64(record.count)
    }

    private mutating func rotate() {
        if maxFiles > 1 {
            for index in stride(from: maxFiles - 1, to: 1, by: -1) { rename("\(path).\(index - 1)", "\(path).\(index)") }
            rename(path, "\(path).1")
        }
        close(fd)
        fd = shim_open(path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        size = 0
    }

    static func escape(_ bytes: ArraySlice<UInt8>, into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        for byte in bytes {
            switch byte {
            case 0x22: out += [0x5c, 0x22]
            case 0x5c: out += [0x5c, 0x5c]
            case 0x0a: out += [0x5c, 0x6e]
            case 0x0d: out += [0x5c, 0x72]
            case 0x09: out += [0x5c, 0x74]
            case 0..<0x20: out += [0x5c, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
    }
}

/// Wall-clock time without Foundation, printed as RFC 3339 with nanoseconds (UTC).
struct Timestamp {
    var seconds: Int
    var nanoseconds: Int

    static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(seconds: spec.tv_sec, nanoseconds: spec.tv_nsec)
    }

    var rfc3339: String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let fraction = String(nanoseconds)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + String(repeating: "0", count: 9 - fraction.count) + fraction + "Z"
    }
}
