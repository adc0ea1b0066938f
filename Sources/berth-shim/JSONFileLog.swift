import CBerthSystem
import CShimLibc
import CZlib

/// Docker's `json-file` log driver: one JSON object per line,
/// `{"log":"text\n","stream":"stdout","attrs":{…},"time":"2026-11-22T10:00:00.123456789Z"}`
/// (`attrs` only when labels, env or a tag were asked for), rotated to `FILE.1 … FILE.(max-1)`
/// when it would grow past `maxSize` bytes; with `compress`, rotated files are gzipped by a
/// child process (`FILE.1.gz` …) so the poll loop never waits for zlib.
struct JSONFileLog {
    private let path: String
    private let maxSize: Int64
    private let maxFiles: Int
    private let compress: Bool
    /// `"attrs":{…},` ready to insert, or empty.
    private let attributes: [UInt8]
    /// The child gzipping `FILE.1`, until the next rotation waits for it.
    private var compressor: pid_t = 0
    private var fd: Int32
    private var size: Int64
    /// Incomplete last line per stream (1 stdout, 2 stderr): docker logs whole lines.
    private var pending: [UInt8: [UInt8]] = [:]

    init(path: String, maxSize: Int64, maxFiles: Int, compress: Bool, attributes: String?) {
        self.path = path
        self.maxSize = maxSize
        self.maxFiles = maxFiles
        self.compress = compress
        self.attributes = attributes.map { Array("\"attrs\":\($0),".utf8) } ?? []
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
        record += Array((stream == 2 ? #"","stream":"stderr","# : #"","stream":"stdout","#).utf8)
        record += attributes
        record += Array(#""time":""#.utf8)
        record += Array(Timestamp.now().rfc3339.utf8)
        record += Array("\"}\n".utf8)
        if maxSize > 0, size + Int64(record.count) > maxSize, size > 0 { rotate() }
        record.withUnsafeBytes { _ = CShimLibc.write(fd, $0.baseAddress, $0.count) }
        size += Int64(record.count)
    }

    private mutating func rotate() {
        if maxFiles > 1 {
            // The previous FILE.1 must be FILE.1.gz before it moves on.
            if compressor > 0 {
                var status: Int32 = 0
                while waitpid(compressor, &status, 0) < 0 && SystemCalls.errno == EINTR {}
                compressor = 0
            }
            let suffix = compress ? ".gz" : ""
            for index in stride(from: maxFiles - 1, to: 1, by: -1) { rename("\(path).\(index - 1)\(suffix)", "\(path).\(index)\(suffix)") }
            rename(path, "\(path).1")
            if compress { compressor = Self.gzipInChild("\(path).1") }
        }
        close(fd)
        fd = shim_open(path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        size = 0
    }

    /// Forks a child that writes `source`.gz (through a temporary name) and removes `source`;
    /// on any failure `source` stays as it is, which readers take as well.
    private static func gzipInChild(_ source: String) -> pid_t {
        let child = berth_fork()
        guard child == 0 else { return max(child, 0) }
        // Nothing of the shim's: attached clients must see their end when the shim closes them.
        _ = berth_close_range(3, ~0)
        let input = shim_open(source, O_RDONLY | O_CLOEXEC, 0)
        let temporary = source + ".gz.tmp"
        guard input >= 0, let output = gzopen(temporary, "wb") else { _exit(1) }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var ok = true
        while ok {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 { ok = SystemCalls.errno == EINTR; continue }
            ok = buffer.withUnsafeBytes { gzwrite(output, $0.baseAddress, UInt32(count)) } == Int32(count)
        }
        ok = gzclose(output) == Z_OK && ok
        guard ok, rename(temporary, source + ".gz") == 0 else {
            unlink(temporary)
            _exit(1)
        }
        unlink(source)
        _exit(0)
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
