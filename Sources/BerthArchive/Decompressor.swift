import CArchive
import Glibc

/// Undoes gzip, zstd, xz or bzip2 on a file (or copies it when it is not compressed), as a
/// stream: a layer's diff ID is the digest of its uncompressed bytes.
public enum Decompressor {
    /// Writes the uncompressed contents of `source` to `target`, calling `chunk` on every piece.
    public static func decompress(_ source: String, to target: String, chunk: (UnsafeRawBufferPointer) -> Void = { _ in }) throws {
        guard let reader = archive_read_new() else { throw ArchiveError.corrupt("out of memory") }
        defer { archive_read_free(reader) }
        archive_read_support_filter_all(reader)
        archive_read_support_format_raw(reader)
        guard archive_read_open_filename(reader, source, 1 << 20) == ARCHIVE_OK else {
            throw ArchiveError.corrupt("\(source): \(LayerApplier.message(reader))")
        }
        var entry: OpaquePointer?
        guard archive_read_next_header(reader, &entry) == ARCHIVE_OK else {
            throw ArchiveError.corrupt("\(source): \(LayerApplier.message(reader))")
        }
        let fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ArchiveError.write(entry: target, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { archive_read_data(reader, $0.baseAddress, $0.count) }
            if n == 0 { return }
            guard n > 0 else { throw ArchiveError.corrupt("\(source): \(LayerApplier.message(reader))") }
            try buffer.withUnsafeBytes { raw in
                let piece = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                chunk(piece)
                var done = 0
                while done < n {
                    let w = write(fd, piece.baseAddress! + done, n - done)
                    guard w > 0 else { throw ArchiveError.write(entry: target, reason: String(cString: strerror(errno))) }
                    done += w
                }
            }
        }
    }
}
