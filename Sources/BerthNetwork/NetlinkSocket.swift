import Glibc
import Synchronization

/// Where rtnetlink requests go: the kernel (`RouteNetlinkSocket`) or, in tests, a fake that
/// records them and answers as the kernel would.
public protocol NetlinkTransport: Sendable {
    /// Sends one request and returns the kernel's replies up to its acknowledgement (or the end
    /// of a dump); an error reply throws `NetlinkError`.
    func exchange(_ request: NetlinkMessage) throws -> [NetlinkMessage]
}

/// A refusal from the kernel: the request and the errno it answered.
public struct NetlinkError: Error, CustomStringConvertible, Equatable {
    public var operation: String
    public var errno: Int32

    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "\(operation): \(String(cString: strerror(errno)))" }
}

/// An `AF_NETLINK`/`NETLINK_ROUTE` socket in the network namespace it was opened in (a socket
/// stays in its namespace whichever thread uses it later). Requests are serialized: each waits
/// for its own acknowledgement.
public final class RouteNetlinkSocket: NetlinkTransport, Sendable {
    private let fd: Int32
    /// The last sequence number; held for a whole exchange (one conversation at a time).
    private let sequence = Mutex<UInt32>(0)

    /// A socket in the calling thread's network namespace.
    public init() throws {
        fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0 /* NETLINK_ROUTE */)
        guard fd >= 0 else { throw NetlinkError("open a netlink socket", errno: errno) }
        let bound = Self.kernelAddress.withUnsafeBytes {
            bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw NetlinkError("bind a netlink socket", errno: code)
        }
    }

    deinit { close(fd) }

    /// `sockaddr_nl` (Glibc's module does not export it): AF_NETLINK, port 0 (the kernel; for
    /// `bind`, "assign one"), no multicast groups.
    private static let kernelAddress: [UInt8] = [UInt8(AF_NETLINK), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]

    public func exchange(_ request: NetlinkMessage) throws -> [NetlinkMessage] {
        try sequence.withLock { last in
            last &+= 1
            var message = request
            message.sequence = last
            let bytes = message.bytes
            let sent = bytes.withUnsafeBytes { buffer in
                Self.kernelAddress.withUnsafeBytes {
                    sendto(fd, buffer.baseAddress, buffer.count, 0, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
                }
            }
            guard sent == bytes.count else { throw NetlinkError("send a netlink request", errno: errno) }
            var replies: [NetlinkMessage] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { throw NetlinkError("read a netlink reply", errno: errno) }
                guard let messages = NetlinkMessage.parse(Array(buffer[0..<count])) else {
                    throw NetlinkError("read a netlink reply", errno: EBADMSG)
                }
                for reply in messages where reply.sequence == message.sequence {
                    if reply.type == NetlinkMessage.done { return replies }
                    if let code = reply.errorCode {
                        if code == 0 { return replies }
                        throw NetlinkError("netlink request \(request.type)", errno: code)
                    }
                    replies.append(reply)
                    // A reply that is not part of a dump is the whole answer.
                    if reply.flags & NetlinkMessage.multi == 0 && request.flags & NetlinkMessage.acknowledge == 0 { return replies }
                }
            }
        }
    }
}
