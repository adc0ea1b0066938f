import BerthDigest
import BerthOCI
import BerthSystem
import Dispatch
import Glibc
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Blobs addressed by digest under `<root>/content/blobs/<algorithm>/<hex>`.
///
/// A blob becomes visible only after its bytes were verified against the expected digest and size
/// and renamed into place, so a reader never sees a partial or wrong blob. Writes go through
/// `Ingest`s in `<root>/content/ingest/`, which survive a crash or an interrupt and resume
/// where they stopped.
public final class ContentStore: Sendable {
    public let root: String

    public init(root: String) throws {
        self.root = root
        for dir in ["content/blobs/sha256", "content/ingest"] {
            try SmallFile.makeDirectories(root + "/" + dir, mode: 0o700)
        }
    }

    public func path(_ digest: Digest) -> String {
        "\(root)/content/blobs/\(digest.algorithm.rawValue)/\(digest.encoded)"
    }

    /// Size of a stored blob, nil if absent.
    public func size(_ digest: Digest) -> Int64? {
        var st = stat()
        return stat(path(digest), &st) == 0 ? Int64(st.st_size) : nil
    }

    public func contains(_ digest: Digest) -> Bool { size(digest) != nil }

    public func read(_ digest: Digest) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path(digest)) else { throw ImageStoreError.blobNotFound(digest) }
        return data
    }

    /// Stores a small blob (manifest, config) held in memory; verifies it if `expected` is given.
    @discardableResult
    public func write(_ data: Data, expected: Digest? = nil) throws -> Digest {
        let actual = Digest.sha256(of: data)
        if let expected, expected != actual { throw ImageStoreError.digestMismatch(expected: expected, actual: actual) }
        if contains(actual) { return actual }
        let ingest = try self.ingest(actual, size: Int64(data.count))
        defer { ingest.close() }
        if ingest.offset > 0 { try ingest.reset() }
        try ingest.append(data)
        try ingest.commit()
        return actual
    }

    /// Opens (or resumes) the ingest for `digest`; `size`, if known, is checked at commit.
    public func ingest(_ digest: Digest, size: Int64?) throws -> Ingest {
        try Ingest(store: self, digest: digest, expectedSize: size)
    }

    /// Moves the file at `path` into the store as the blob `digest`: the caller hashed it and
    /// no one else writes it (a layer of an archive being loaded). The file's fsync runs while
    /// `meanwhile` does (the layer's unpacking, which reads `path`), so a durable blob costs a
    /// load little extra time; then a rename on the data root's filesystem, or a copy where that
    /// fails (`path` on another filesystem).
    public func adopt(_ path: String, as digest: Digest, meanwhile: () throws -> Void = {}) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ImageStoreError.io("open \(path): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        let flushed = DispatchSemaphore(value: 0)
        let flush = Mutex<Int32>(0)
        DispatchQueue.global().async {
            let failed = fsync(fd) == 0 ? 0 : errno
            flush.withLock { $0 = failed }
            flushed.signal()
        }
        let outcome = Result { try meanwhile() }
        flushed.wait()
        try outcome.get()
        let failed = flush.withLock { $0 }
        guard failed == 0 else { throw ImageStoreError.io("fsync \(path): \(String(cString: strerror(failed)))") }
        fchmod(fd, 0o444)
        if rename(path, self.path(digest)) == 0 { return }
        guard errno == EXDEV else { throw ImageStoreError.io("publish \(digest): \(String(cString: strerror(errno)))") }
        let ingest = try self.ingest(digest, size: nil)
        defer { ingest.close() }
        if ingest.offset > 0 { try ingest.reset() }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        lseek(fd, 0, SEEK_SET)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            guard n > 0 else { throw ImageStoreError.io("read \(path): \(String(cString: strerror(errno)))") }
            try buffer.withUnsafeBytes { try ingest.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        try ingest.commit()
    }

    /// Removes a blob; absent blobs are not an error.
    public func delete(_ digest: Digest) {
        unlink(path(digest))
    }

    /// Every stored blob.
    public func list() -> [Digest] {
        SmallFile.list(root + "/content/blobs/sha256").compactMap { try? Digest(parsing: "sha256:" + $0) }.sorted()
    }

    var ingestDirectory: String { root + "/content/ingest" }
}

/// A blob being written: append bytes, then `commit` verifies and publishes it.
///
/// The partial file is named after the digest, so an interrupted download resumes from `offset`
/// (its bytes are re-hashed on open). An exclusive lock keeps two writers of one digest apart.
public final class Ingest {
    public let digest: Digest
    public let expectedSize: Int64?
    /// Bytes already written (after a resume, what the previous attempt left).
    public private(set) var offset: Int64 = 0

    /// The partial file, readable while it is written (a pull extracts from it as it grows).
    public var path: String { partialPath }

    private let store: ContentStore
    private let partialPath: String
    private let fd: Int32
    private var hasher = DigestHasher()
    private var closed = false

    init(store: ContentStore, digest: Digest, expectedSize: Int64?) throws {
        self.store = store
        self.digest = digest
        self.expectedSize = expectedSize
        partialPath = "\(store.ingestDirectory)/\(digest.algorithm.rawValue)-\(digest.encoded).partial"
        fd = open(partialPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ImageStoreError.io("open \(partialPath): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            Glibc.close(fd)
            throw ImageStoreError.ingestBusy(digest)
        }
        // Resume: hash what an earlier attempt wrote.
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += Int64(n)
        }
        if let expectedSize, offset > expectedSize { try reset() }
    }

    deinit { close() }

    /// Drops what was written so far (the source cannot resume, say).
    public func reset() throws {
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
            throw ImageStoreError.io("truncate \(partialPath): \(String(cString: strerror(errno)))")
        }
        hasher = DigestHasher()
        offset = 0
    }

    public func append(_ bytes: Data) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ImageStoreError.io("write \(partialPath): \(String(cString: strerror(errno)))") }
            done += n
        }
        hasher.update(bytes)
        offset += Int64(bytes.count)
    }

    /// Verifies size and digest, makes the blob durable and visible. A mismatch discards the
    /// partial data (it can never become right) and throws.
    public func commit() throws {
        if let expectedSize, offset != expectedSize {
            let actual = offset
            try reset()
            throw ImageStoreError.sizeMismatch(digest, expected: expectedSize, actual: actual)
        }
        let actual = hasher.finalize()
        guard actual == digest else {
            try reset()
            throw ImageStoreError.digestMismatch(expected: digest, actual: actual)
        }
        guard fsync(fd) == 0 else { throw ImageStoreError.io("fsync \(partialPath): \(String(cString: strerror(errno)))") }
        fchmod(fd, 0o444)
        guard rename(partialPath, store.path(digest)) == 0 else {
            throw ImageStoreError.io("publish \(digest): \(String(cString: strerror(errno)))")
        }
        close()
    }

    /// Gives up without publishing; the partial file stays for a later resume.
    public func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }
}
