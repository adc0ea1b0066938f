import Foundation

/// The engine's temporary files (under `DATA/tmp`) as request and response bodies: an upload
/// is written to one as it arrives; an archive the engine made (`export`, `cp`) is sent from
/// one chunk by chunk. Neither is ever held in memory whole.
public enum ScratchFile {
    /// Writes `body` to a new file at `path`, chunk by chunk; the file is removed if the body
    /// fails (a client that hung up part-way). Returns the number of bytes written.
    @discardableResult
    public static func write<Body: AsyncSequence>(_ body: Body, to path: String) async throws -> Int64 where Body.Element == [UInt8] {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw EngineError(.internalError, "create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var written: Int64 = 0
        do {
            for try await chunk in body {
                try chunk.withUnsafeBytes { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                        if n < 0 && errno == EINTR { continue }
                        guard n > 0 else { throw EngineError(.internalError, "write \(path): \(String(cString: strerror(errno)))") }
                        offset += n
                    }
                }
                written += Int64(chunk.count)
            }
        } catch {
            unlink(path)
            throw error
        }
        return written
    }

    /// The file at `path`, read on demand in 1 MiB chunks, as a response body. The file is
    /// removed at once (its space is freed when the body ends or the client hangs up).
    public static func chunks(consuming path: String) throws -> AsyncThrowingStream<[UInt8], any Error> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError(.internalError, "open \(path): \(String(cString: strerror(errno)))") }
        unlink(path)
        return DescriptorChunks.stream(fd)
    }
}
