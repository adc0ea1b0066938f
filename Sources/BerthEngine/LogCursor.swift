import BerthArchive
import Foundation

/// A position in a container's json-file log (its rotated files, then the live one) that hands
/// out framed lines a batch at a time, when asked: `docker logs` of a log of any size, or a
/// slow `logs -f` reader, costs the daemon one read buffer, not the log.
actor LogCursor {
    /// The most bytes of frames one step returns (a longer line goes whole).
    static let batch = 64 * 1024
    private static let readSize = 64 * 1024

    private let reader: LogReader
    private let isRunning: @Sendable () async -> Bool
    /// Rotated files not read yet, oldest first.
    private var rotated: [String]
    /// The live file, opened first and kept: a client may read the log after the container
    /// (and its log file) is gone, as the Python SDK's `run` does.
    private var live: Int32
    /// What is being read now: a rotated file (possibly gunzipped), or the live file.
    private var source: ByteSource?
    private var sourceFD: Int32 = -1
    private var readingLive = false
    /// Bytes read but not yet handed out as lines.
    private var pending: [UInt8] = []
    /// Lines still to skip before the first one sent (`--tail`).
    private var skip = 0
    /// Whether the container was running when last asked (follow ends after a read that saw it stopped).
    private var wasRunning = true
    private var done = false

    init(reader: LogReader, isRunning: @escaping @Sendable () async -> Bool) {
        self.reader = reader
        self.isRunning = isRunning
        rotated = reader.rotatedFiles()
        live = open(reader.path, O_RDONLY | O_CLOEXEC)
        if let tail = reader.options.tail {
            let total = rotated.reduce(0) { $0 + Self.countLines($1, rotated: true) } + Self.countLines(reader.path, rotated: false)
            skip = max(0, total - max(0, tail))
        }
    }

    deinit {
        let liveFD = live, readingFD = sourceFD
        if liveFD >= 0 { close(liveFD) }
        if readingFD >= 0, readingFD != liveFD { close(readingFD) }
    }

    /// The next batch of frames; nil once the log (and, when following, the container) ended.
    func next() async -> [UInt8]? {
        var out: [UInt8] = []
        while !done {
            if let line = nextLine() {
                if skip > 0 { skip -= 1; continue }
                if let frame = reader.frame(line) { out += frame }
                if out.count >= Self.batch { return out }
                continue
            }
            // No whole line ready: what was gathered goes first.
            if !out.isEmpty { return out }
            if !readingLive {
                openNextFile()
                continue
            }
            guard reader.options.follow, !Task.isCancelled, wasRunning else {
                done = true
                break
            }
            wasRunning = await isRunning()
            if wasRunning { try? await Task.sleep(nanoseconds: 50_000_000) }
            followRotation()
        }
        return out.isEmpty ? nil : out
    }

    /// The next complete line, reading more of the current file as needed; nil at its end for now.
    private func nextLine() -> ArraySlice<UInt8>? {
        var searchFrom = 0
        while true {
            if let newline = pending[searchFrom...].firstIndex(of: 10) {
                let line = pending[..<newline]
                pending.removeSubrange(...newline)
                if line.isEmpty { searchFrom = 0; continue }
                return ArraySlice(line)
            }
            searchFrom = pending.count
            guard let source, let chunk = Self.read(source) else {
                // A rotated file may end without a newline: its last line is whole all the same.
                if !readingLive && !pending.isEmpty {
                    defer { pending.removeAll() }
                    return ArraySlice(pending)
                }
                return nil
            }
            pending += chunk
        }
    }

    /// Moves to the next rotated file, or the live file after the last.
    private func openNextFile() {
        if sourceFD >= 0 && sourceFD != live { close(sourceFD) }
        source = nil
        sourceFD = -1
        pending.removeAll()
        while let file = rotated.first {
            rotated.removeFirst()
            let fd = open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            sourceFD = fd
            source = file.hasSuffix(".gz") ? GunzipSource(FileSource(fd: fd)) : FileSource(fd: fd)
            return
        }
        readingLive = true
        guard live >= 0 else { return }
        lseek(live, 0, SEEK_SET)
        sourceFD = live
        source = FileSource(fd: live)
    }

    /// Following: a rotation put a new file at the path (continue in it); a truncation starts over.
    private func followRotation() {
        var current = stat(), opened = stat()
        if live < 0 || (stat(reader.path, &current) == 0 && fstat(live, &opened) == 0
                        && (current.st_ino != opened.st_ino || current.st_dev != opened.st_dev)) {
            let fresh = open(reader.path, O_RDONLY | O_CLOEXEC)
            guard fresh >= 0 else { return }
            if live >= 0 { close(live) }
            live = fresh
            sourceFD = fresh
            source = FileSource(fd: fresh)
            return
        }
        if fstat(live, &opened) == 0, lseek(live, 0, SEEK_CUR) > opened.st_size { lseek(live, 0, SEEK_SET) }
    }

    private static func read(_ source: ByteSource) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: readSize)
        guard let count = try? buffer.withUnsafeMutableBytes({ try source.read(into: $0) }), count > 0 else { return nil }
        buffer.removeLast(buffer.count - count)
        return buffer
    }

    /// The lines of a log file (gunzipped if it is a `.gz`), read a buffer at a time. A rotated
    /// file's unterminated last line is sent as a line; the live file's is not whole yet.
    private static func countLines(_ file: String, rotated: Bool) -> Int {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        let source: ByteSource = file.hasSuffix(".gz") ? GunzipSource(FileSource(fd: fd)) : FileSource(fd: fd)
        var lines = 0, last: UInt8 = 10
        while let chunk = read(source) {
            lines += chunk.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
            last = chunk.last ?? last
        }
        return lines + (rotated && last != 10 ? 1 : 0)
    }
}
