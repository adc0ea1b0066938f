import BerthSystem
import Foundation
import Glibc
import Synchronization

/// A network namespace reached through a process in it (`/proc/<pid>/ns/net`): its descriptor,
/// to move a link into it, and a netlink socket inside it, to configure what is there.
public struct NetworkNamespace: Sendable {
    public let path: String

    public init(pid: Int32) { path = "/proc/\(pid)/ns/net" }

    /// Opens the namespace file (the caller closes the descriptor).
    public func open() throws -> Int32 {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NetlinkError("open \(path)", errno: errno) }
        return fd
    }

    /// A netlink socket inside the namespace. A socket belongs to the namespace of the thread
    /// that opened it, so a thread of its own joins the namespace, opens it and ends: no other
    /// thread of berthd ever runs in the container's namespace.
    public func netlink() throws -> Netlink {
        let target = try open()
        defer { close(target) }
        let result = Mutex<Result<RouteNetlinkSocket, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let path = self.path
        let thread = Thread {
            result.withLock { $0 = Result { try Self.socket(joining: target, path: path) } }
            done.signal()
        }
        thread.start()
        done.wait()
        return Netlink(try result.withLock { $0! }.get())
    }

    private static func socket(joining target: Int32, path: String) throws -> RouteNetlinkSocket {
        // The thread ends after this; it never returns to the host's namespace, so nothing that
        // runs on it later could act in the container's by mistake (it is not a pooled thread).
        try Namespaces.join(fd: target, kind: .network, path: path)
        return try RouteNetlinkSocket()
    }
}
