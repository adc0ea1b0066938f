import BerthArchive
import Foundation
import Glibc

/// A layer blob while it downloads, readable before it is complete, so that a pull extracts a
/// layer as its bytes arrive instead of after the last one.
///
/// The download reports where its partial file is, how far it got, and how it ended; the
/// extractor follows the partial file and waits for bytes not yet written. Only the end of the
/// download proves the digest, so the extractor must `awaitVerified()` before it publishes what
/// it extracted.
///
/// The one class left on a lock and `@unchecked Sendable`: the extractor thread blocks until
/// bytes arrive, which needs a condition variable (`NSCondition`); `Mutex` has no wait. Every
/// stored property is touched only with the condition held.
final class LayerFeed: @unchecked Sendable {
    private let condition = NSCondition()
    /// The partial file, opened by the download before it can be renamed into the store.
    private var fd: Int32 = -1
    private var written: Int64 = 0
    private var outcome: Result<Void, Error>?

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// The download opened its partial file at `path`, which holds `offset` bytes already.
    func started(path: String, offset: Int64) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RegistryError.protocolError("open \(path): \(String(cString: strerror(errno)))") }
        condition.withLock {
            self.fd = fd
            written = offset
            condition.broadcast()
        }
    }

    func advanced(to offset: Int64) {
        condition.withLock {
            written = offset
            condition.broadcast()
        }
    }

    /// The download ended: verified and published, or failed (the first outcome counts).
    func finished(_ result: Result<Void, Error>) {
        condition.withLock {
            if outcome == nil { outcome = result }
            condition.broadcast()
        }
    }

    /// Waits until the download has a partial file to follow; false when it failed before that.
    func awaitStart() throws {
        try condition.withLock {
            while fd < 0 && outcome == nil { condition.wait() }
            if fd < 0, case let .failure(error)? = outcome { throw error }
        }
    }

    /// Waits until more than `offset` bytes exist; returns how many, or nil when the download
    /// ended at `offset`.
    func awaitBytes(beyond offset: Int64) throws -> Int64? {
        try condition.withLock {
            while written <= offset && outcome == nil { condition.wait() }
            if written > offset { return written }
            if case let .failure(error)? = outcome { throw error }
            return nil
        }
    }

    /// Waits for the end of the download; throws its error.
    func awaitVerified() throws {
        try condition.withLock {
            while outcome == nil { condition.wait() }
            try outcome!.get()
        }
    }

    /// Reads the partial file from its start as it grows (after `awaitStart`).
    final class Follower: ByteSource {
        private let feed: LayerFeed
        private var offset: Int64 = 0
        private var available: Int64 = 0

        init(_ feed: LayerFeed) {
            self.feed = feed
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            if offset >= available {
                guard let now = try feed.awaitBytes(beyond: offset) else { return 0 }
                available = now
            }
            let want = Int(min(Int64(buffer.count), available - offset))
            let n = pread(feed.fd, buffer.baseAddress, want, off_t(offset))
            guard n > 0 else { throw RegistryError.protocolError("read downloaded layer: \(n < 0 ? String(cString: strerror(errno)) : "truncated")") }
            offset += Int64(n)
            return n
        }
    }
}
