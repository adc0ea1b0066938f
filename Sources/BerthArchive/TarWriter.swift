import CArchive
import Glibc

/// Writes a plain tar (image archives: `docker save`, OCI layouts): regular files and
/// directories with fixed owners and times, so the same content gives the same bytes.
public final class TarWriter {
    private let writer: OpaquePointer
    private let path: String
    private var closed = false
    /// Modification time written on every entry.
    public var mtime: Int = 0

    /// Opens `path` for writing; `close()` finishes it.
    public init(path: String) throws {
        guard let w = archive_write_new() else { throw ArchiveError.corrupt("out of memory") }
        writer = w
        self.path = path
        archive_write_set_format_pax_restricted(w)
        guard archive_write_open_filename(w, path) == ARCHIVE_OK else {
            let message = LayerApplier.message(w)
            archive_write_free(w)
            throw ArchiveError.write(entry: path, reason: message)
        }
    }

    /// Writes to the descriptor `fd` (a pipe a response reads), which stays the caller's, in
    /// 64 KiB writes without padding the last one.
    public init(descriptor fd: Int32) throws {
        guard let w = archive_write_new() else { throw ArchiveError.corrupt("out of memory") }
        writer = w
        path = "descriptor \(fd)"
        archive_write_set_format_pax_restricted(w)
        archive_write_set_bytes_per_block(w, 64 * 1024)
        archive_write_set_bytes_in_last_block(w, 1)
        guard archive_write_open_fd(w, fd) == ARCHIVE_OK else {
            let message = LayerApplier.message(w)
            archive_write_free(w)
            throw ArchiveError.write(entry: path, reason: message)
        }
    }

    deinit {
        if !closed { archive_write_free(writer) }
    }

    public func addDirectory(_ name: String) throws {
        try header(name, type: UInt32(Glibc.S_IFDIR), mode: 0o755, size: 0)
    }

    public func addFile(_ name: String, bytes: [UInt8]) throws {
        try header(name, type: UInt32(Glibc.S_IFREG), mode: 0o644, size: Int64(bytes.count))
        if !bytes.isEmpty {
            guard bytes.withUnsafeBytes({ archive_write_data(writer, $0.baseAddress, $0.count) }) == bytes.count else {
                throw ArchiveError.write(entry: name, reason: LayerApplier.message(writer))
            }
        }
    }

    /// Adds the file at `source` (streamed) under `name`.
    public func addFile(_ name: String, contentsOf source: String) throws {
        let fd = open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError.write(entry: name, reason: String(cString: strerror(errno))) }
        defer { Glibc.close(fd) }
        var st = stat()
        fstat(fd, &st)
        try header(name, type: UInt32(Glibc.S_IFREG), mode: 0o644, size: Int64(st.st_size))
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            guard n > 0, buffer.withUnsafeBytes({ archive_write_data(writer, $0.baseAddress, n) }) == n else {
                throw ArchiveError.write(entry: name, reason: LayerApplier.message(writer))
            }
        }
    }

    public func close() throws {
        guard !closed else { return }
        closed = true
        defer { archive_write_free(writer) }
        guard archive_write_close(writer) == ARCHIVE_OK else { throw ArchiveError.write(entry: path, reason: LayerApplier.message(writer)) }
    }

    private func header(_ name: String, type: UInt32, mode: UInt32, size: Int64) throws {
        guard let entry = archive_entry_new() else { throw ArchiveError.corrupt("out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_filetype(entry, type)
        archive_entry_set_perm(entry, mode_t(mode))
        archive_entry_set_size(entry, size)
        archive_entry_set_mtime(entry, mtime, 0)
        guard archive_write_header(writer, entry) >= ARCHIVE_WARN else {
            throw ArchiveError.write(entry: name, reason: LayerApplier.message(writer))
        }
    }
}
