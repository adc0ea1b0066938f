import BerthSystem
import Foundation
import Glibc
import Synchronization

/// A network namespace reached through a process in it (`/proc/<pid>/ns/net`): its descriptor,
/// to move a link into it, and a netlink socket inside it, to configure what is there.
public struct NetworkNamespace: Sendable {
    public let path: String
    /// The process it was reached through.
    public let pid: Int32

    public init(pid: Int32) {
        self.pid = pid
        path = "/proc/\(pid)/ns/net"
    }

    /// Opens the namespace file (the caller closes the descriptor).
    public func open() throws -> Int32 {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetlinkError("open \(path)", errno: errno) }
        return fd
    }

    /// A netlink socket inside the namespace.
    public func netlink() throws -> Netlink {
        Netlink(try inside { try RouteNetlinkSocket() })
    }

    /// A UDP socket inside the namespace bound to `address:port` (the embedded DNS's
    /// 127.0.0.11:53).
    public func udpSocket(bindingTo address: IPv4Address, port: UInt16) throws -> Int32 {
        let path = self.path
        return try inside {
            let fd = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw NetlinkError("open a UDP socket in \(path)", errno: errno) }
            guard Self.bind(fd, address, port) == 0 else {
                let code = errno
                close(fd)
                throw NetlinkError("bind \(address):\(port) in \(path)", errno: code)
            }
            return fd
        }
    }

    /// A listening TCP socket inside the namespace on `address:port`, non-blocking (the
    /// embedded DNS's 127.0.0.11:53 for truncated answers).
    public func tcpListener(bindingTo address: IPv4Address, port: UInt16) throws -> Int32 {
        let path = self.path
        return try inside {
            let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard fd >= 0 else { throw NetlinkError("open a TCP socket in \(path)", errno: errno) }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            guard Self.bind(fd, address, port) == 0, Glibc.listen(fd, 16) == 0 else {
                let code = errno
                close(fd)
                throw NetlinkError("listen on \(address):\(port) in \(path)", errno: code)
            }
            return fd
        }
    }

    private static func bind(_ fd: Int32, _ address: IPv4Address, _ port: UInt16) -> Int32 {
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = address.value.bigEndian
        return withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// Runs `body` in the namespace. A socket belongs to the namespace of the thread that
    /// opened it, so a thread of its own joins the namespace, runs `body` and ends: it never
    /// returns to the host's namespace, and no other thread of berthd ever runs in the
    /// container's.
    private func inside<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let target = try open()
        defer { close(target) }
        let result = Mutex<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let path = self.path
        let thread = Thread {
            result.withLock { $0 = Result { try Namespaces.join(fd: target, kind: .network, path: path); return try body() } }
            done.signal()
        }
        thread.start()
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
