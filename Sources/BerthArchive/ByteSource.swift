import Glibc

/// A stream a layer is read from: a file, a download still being written, or another source
/// decompressed on the way. Sources are used from one thread at a time.
public protocol ByteSource: AnyObject {
    /// Fills the start of `buffer`; returns how many bytes it wrote, 0 at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Reads a file descriptor (a file or a pipe) to its end. The descriptor stays the caller's.
public final class FileSource: ByteSource {
    private let fd: Int32

    public init(fd: Int32) {
        self.fd = fd
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw ArchiveError.corrupt("read: \(String(cString: strerror(errno)))") }
        }
    }
}
