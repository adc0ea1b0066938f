import Dispatch
import Foundation
import Synchronization

/// A descriptor read as a response body, 1 MiB at a time when the response asks for more: a
/// scratch file, or a pipe a writer thread fills (`docker save`). Each read runs on a Dispatch
/// thread, so a pipe waiting for its writer never holds one of the cooperative pool's threads.
enum DescriptorChunks {
    static let chunkSize = 1 << 20

    /// The chunks of `fd`, which the stream owns (closed when it ends or is dropped). At the end
    /// of the descriptor, `outcome` says whether what was read is complete: a writer that failed
    /// part-way makes the stream throw, so the client sees a failure and not a short archive.
    static func stream(_ fd: Int32, outcome: @escaping @Sendable () -> (any Error)? = { nil }) -> AsyncThrowingStream<[UInt8], any Error> {
        let reader = Reader(fd: fd)
        return AsyncThrowingStream(unfolding: {
            let chunk = try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async { continuation.resume(with: Result { try reader.next() }) }
            }
            if chunk == nil, let error = outcome() { throw error }
            return chunk
        })
    }

    private final class Reader: Sendable {
        let fd: Int32

        init(fd: Int32) { self.fd = fd }

        deinit { close(fd) }

        func next() throws -> [UInt8]? {
            var chunk = [UInt8](repeating: 0, count: DescriptorChunks.chunkSize)
            var count = 0
            repeat {
                count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            } while count < 0 && errno == EINTR
            guard count >= 0 else { throw EngineError(.internalError, "read: \(String(cString: strerror(errno)))") }
            guard count > 0 else { return nil }
            chunk.removeLast(chunk.count - count)
            return chunk
        }
    }
}
