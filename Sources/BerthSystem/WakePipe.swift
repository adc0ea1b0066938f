import Glibc

/// A non-blocking pipe that wakes a thread blocked in `poll`: other threads `wake()` it after
/// queueing work; the polling thread watches `pollEntry` and `drain()`s it when it fires.
public struct WakePipe: Sendable {
    public let readEnd: Int32
    public let writeEnd: Int32

    public init() throws {
        let (read, write) = try FileDescriptors.pipe()
        _ = fcntl(read, F_SETFL, O_NONBLOCK)
        _ = fcntl(write, F_SETFL, O_NONBLOCK)
        readEnd = read
        writeEnd = write
    }

    public func wake() {
        var byte: UInt8 = 1
        _ = Glibc.write(writeEnd, &byte, 1)
    }

    public var pollEntry: pollfd { pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0) }

    public func drain() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while buffer.withUnsafeMutableBytes({ Glibc.read(readEnd, $0.baseAddress, $0.count) }) > 0 {}
    }
}
