import CBerthSystem
import Glibc

/// Stream (or, with `seqpacket`, message) sockets on filesystem paths, for processes that do
/// not run an event-loop library (the shim, the runtime's console socket, berth-dns).
public enum UnixSocket {
    private static func kind(_ seqpacket: Bool) -> Int32 {
        Int32((seqpacket ? SOCK_SEQPACKET : SOCK_STREAM).rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    }

    /// Binds and listens on `path`, replacing a stale socket file. Close-on-exec.
    public static func listen(_ path: String, backlog: Int32 = 16, seqpacket: Bool = false) throws -> Int32 {
        unlink(path)
        let fd = try syscallChecked("socket") { socket(AF_UNIX, kind(seqpacket), 0) }
        do {
            _ = try withAddress(path) { address, length in
                try syscallChecked("bind \(path)") { bind(fd, address, length) }
            }
            try syscallChecked("listen \(path)") { Glibc.listen(fd, backlog) }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// Connects to the socket at `path`. Close-on-exec.
    public static func connect(_ path: String, seqpacket: Bool = false) throws -> Int32 {
        let fd = try syscallChecked("socket") { socket(AF_UNIX, kind(seqpacket), 0) }
        do {
            _ = try withAddress(path) { address, length in
                try syscallChecked("connect \(path)") { Glibc.connect(fd, address, length) }
            }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// Accepts one connection (close-on-exec); `nil` when none is pending on a non-blocking listener.
    public static func accept(_ listener: Int32) -> Int32? {
        let fd = Glibc.accept(listener, nil, nil)
        guard fd >= 0 else { return nil }
        _ = berth_set_cloexec(fd, 1)
        return fd
    }

    private static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T) throws -> T {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else {
            throw SystemError("socket path \(path) is longer than \(capacity - 1) bytes", errno: .fileNameTooLong)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return try withUnsafePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                try body($0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }
}
