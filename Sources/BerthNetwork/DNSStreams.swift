import Glibc

/// The embedded DNS's TCP connections (RFC 7766: each message after a two-byte length), for
/// clients whose UDP answer was truncated. Owned by the serving thread alone: nothing here
/// blocks, a connection that sends nothing is dropped after five seconds, and at most 256 are
/// open at once.
struct DNSStreams {
    struct Connection {
        var container: String
        var received: [UInt8] = []
        var deadline: ContinuousClock.Instant
    }

    static let limit = 256
    private(set) var connections: [Int32: Connection] = [:]

    var pollEntries: [pollfd] { connections.keys.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) } }

    /// Milliseconds until the nearest deadline (-1: none), for poll.
    var timeout: Int32 {
        guard let nearest = connections.values.map(\.deadline).min() else { return -1 }
        let left = ContinuousClock.now.duration(to: nearest).components
        return Int32(max(1, left.seconds * 1000 + left.attoseconds / 1_000_000_000_000_000 + 1))
    }

    /// A client of `container` connects to its listener.
    mutating func accept(_ listener: Int32, for container: String) {
        let fd = Glibc.accept(listener, nil, nil)
        guard fd >= 0 else { return }
        guard connections.count < Self.limit else {
            close(fd)
            return
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        connections[fd] = Connection(container: container, deadline: .now + .seconds(5))
    }

    /// Reads what arrived on `fd`; returns a whole query when one is there (the connection is
    /// then the caller's: answered and closed), nil otherwise.
    mutating func read(_ fd: Int32) -> (container: String, packet: [UInt8])? {
        guard var connection = connections[fd] else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if count < 0 && (errno == EAGAIN || errno == EINTR) { return nil }
        guard count > 0 else {
            drop(fd)
            return nil
        }
        connection.received += buffer[0..<count]
        guard connection.received.count >= 2 else {
            connections[fd] = connection
            return nil
        }
        let length = Int(connection.received[0]) << 8 | Int(connection.received[1])
        guard connection.received.count >= 2 + length else {
            connections[fd] = connection
            return nil
        }
        connections[fd] = nil
        return (connection.container, Array(connection.received[2..<(2 + length)]))
    }

    /// Drops the connections past their deadline, and those of containers no longer served.
    mutating func prune(serving: Set<String>) {
        let now = ContinuousClock.now
        for (fd, connection) in connections where connection.deadline <= now || !serving.contains(connection.container) { drop(fd) }
    }

    private mutating func drop(_ fd: Int32) {
        connections[fd] = nil
        close(fd)
    }

    /// Writes `reply` after its length and closes the connection.
    static func answer(_ reply: [UInt8], on fd: Int32) {
        let framed = [UInt8(reply.count >> 8 & 0xff), UInt8(reply.count & 0xff)] + reply
        var offset = 0
        // Bounded: a client that reads nothing gets what its socket buffer takes, then is closed.
        for _ in 0..<100 where offset < framed.count {
            let sent = framed[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if sent > 0 { offset += sent } else if errno != EAGAIN && errno != EINTR { break } else {
                var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                guard poll(&entry, 1, 100) > 0 else { break }
            }
        }
        close(fd)
    }
}
