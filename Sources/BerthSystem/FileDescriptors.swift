import CBerthSystem
import Glibc

/// File-descriptor plumbing: pipes, socket pairs, SCM_RIGHTS passing, CLOEXEC sweeps.
public enum FileDescriptors {
    public static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        try syscallChecked("pipe") { berth_pipe_cloexec(&fds) }
        return (fds[0], fds[1])
    }

    /// Asks for a pipe buffer of `bytes` (F_SETPIPE_SZ, which Glibc's module does not export);
    /// a pipe keeps its default size where the kernel refuses.
    public static func setPipeSize(_ fd: Int32, _ bytes: Int32) {
        let setPipeSize: Int32 = 1024 + 7
        _ = fcntl(fd, setPipeSize, bytes)
    }

    /// A connected pair of Unix sockets; `.seqpacket` keeps message boundaries.
    public static func socketPair(seqpacket: Bool = false) throws -> (Int32, Int32) {
        var fds: [Int32] = [0, 0]
        let type = seqpacket ? Int32(SOCK_SEQPACKET.rawValue) : Int32(SOCK_STREAM.rawValue)
        try syscallChecked("socketpair") { socketpair(AF_UNIX, type | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        return (fds[0], fds[1])
    }

    public static func setCloexec(_ fd: Int32, _ on: Bool) throws {
        try syscallChecked("fcntl FD_CLOEXEC") { berth_set_cloexec(fd, on ? 1 : 0) }
    }

    /// Marks every descriptor from `first` up close-on-exec (fds the container must not inherit).
    public static func cloexecFrom(_ first: Int32) throws {
        try syscallChecked("close_range") { berth_cloexec_from(UInt32(first)) }
    }

    /// Closes every descriptor from 3 up except `keep`: nothing the caller inherited survives.
    public static func closeAll(except keep: Set<Int32>) {
        var next: UInt32 = 3
        for fd in keep.filter({ $0 >= 3 }).sorted() {
            if UInt32(fd) > next { _ = berth_close_range(next, UInt32(fd) - 1) }
            next = UInt32(fd) + 1
        }
        _ = berth_close_range(next, ~0)
    }

    /// Makes a posix_spawn child start with nothing but its standard descriptors (what the
    /// actions dup2 into 0, 1 and 2): every other descriptor of the parent is closed.
    public static func closeOthersOnSpawn(_ actions: inout posix_spawn_file_actions_t) {
        _ = berth_spawn_closefrom(&actions, 3)
    }

    /// Sends `fd` and a message over a Unix socket.
    public static func send(fd: Int32, over socket: Int32, message: [UInt8] = [0]) throws {
        let result = message.withUnsafeBytes { berth_send_fd(socket, fd, $0.baseAddress, $0.count) }
        if result != 0 { throw SystemError("send file descriptor") }
    }

    /// Receives one message and the descriptor it carries, if any. An empty message means EOF.
    public static func receiveMessage(over socket: Int32, max: Int = 65536) throws -> (message: [UInt8], fd: Int32?) {
        var buffer = [UInt8](repeating: 0, count: max)
        var got = 0
        let fd = buffer.withUnsafeMutableBytes { berth_recv_fd(socket, $0.baseAddress, $0.count, &got) }
        if fd == -1 { throw SystemError("receive message") }
        return (Array(buffer[0..<Swift.max(0, got)]), fd >= 0 ? fd : nil)
    }

    /// Receives a descriptor sent with `send(fd:over:)`.
    public static func receive(over socket: Int32) throws -> Int32 {
        let (message, fd) = try receiveMessage(over: socket, max: 256)
        guard let fd else { throw SystemError(message.isEmpty ? "receive file descriptor: peer closed" : "receive file descriptor: none sent", errno: .badMessage) }
        return fd
    }

    /// Writes all of `bytes`.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = try syscallChecked("write") { bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) } }
            offset += n
        }
    }

    /// Reads up to `max` bytes; empty at EOF.
    public static func read(_ fd: Int32, max: Int = 65536) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        let n = try syscallChecked("read") { buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, max) } }
        return Array(buffer[0..<n])
    }

    /// Reads until EOF.
    public static func readAll(_ fd: Int32) throws -> [UInt8] {
        var out: [UInt8] = []
        while true {
            let chunk = try read(fd)
            if chunk.isEmpty { return out }
            out += chunk
        }
    }

    /// The path the kernel has for an open descriptor (`/proc/self/fd/N`).
    public static func path(of fd: Int32) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = try syscallChecked("readlink /proc/self/fd/\(fd)") { readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Opens `path` under the directory `dirfd` only if it resolves beneath it, symlinks
    /// included: `..`, absolute paths and symlinks that lead out fail with EXDEV.
    public static func openBeneath(_ dirfd: Int32, _ path: String, flags: Int32) throws -> Int32 {
        try openat2(dirfd, path, flags: flags, resolve: BERTH_RESOLVE_BENEATH | BERTH_RESOLVE_NO_MAGICLINKS)
    }

    /// openat2(2) with `RESOLVE_*` flags; the result is always O_CLOEXEC.
    public static func openat2(_ dirfd: Int32, _ path: String, flags: Int32, mode: mode_t = 0, resolve: UInt64) throws -> Int32 {
        try syscallChecked("open \(path)") { berth_openat2(dirfd, path, UInt64(UInt32(bitPattern: flags)), UInt64(mode), resolve) }
    }
}
