import CArchive

/// Feeds a `ByteSource` to a libarchive reader through its read callback, keeping the error the
/// source threw (libarchive itself only learns that the read failed).
final class ArchiveInput {
    let source: ByteSource
    private(set) var error: Error?
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)

    init(_ source: ByteSource) {
        self.source = source
    }

    deinit { buffer.deallocate() }

    /// Opens `reader` on this input; the input must outlive the reader's use.
    func open(_ reader: OpaquePointer) throws {
        let context = Unmanaged.passUnretained(self).toOpaque()
        let rc = archive_read_open(reader, context, nil, { _, context, out in
            let input = Unmanaged<ArchiveInput>.fromOpaque(context!).takeUnretainedValue()
            do {
                let n = try input.source.read(into: input.buffer)
                out!.pointee = UnsafeRawPointer(input.buffer.baseAddress)
                return n
            } catch {
                input.error = error
                return -1
            }
        }, nil)
        guard rc == ARCHIVE_OK else {
            if let error { throw error }
            throw ArchiveError.corrupt(LayerApplier.message(reader))
        }
    }
}
