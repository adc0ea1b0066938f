import CBerthSystem
import CShimLibc

/// The system calls the shim makes, wrapped once. The shim is Embedded Swift (so that it stays a
/// static binary of well under 1 MiB resident), and Embedded modules cannot link BerthSystem, a
/// full-runtime module over swift-system: this is the shim's small counterpart of it.
enum SystemCalls {
    static var errno: Int32 { __errno_location().pointee }

    /// `operation: strerror(errno)`, as BerthSystem's errors read.
    static func failure(_ operation: String, _ code: Int32 = errno) -> ShimError {
        ShimError("\(operation): \(String(cString: strerror(code)))")
    }

    /// Writes all of `bytes`; false when the reader is gone.
    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    /// One read(2) into `buffer`: the byte count, 0 at end of file, -1 on error (EINTR retried).
    static func read(_ fd: Int32, into buffer: inout [UInt8]) -> Int {
        while true {
            let n = buffer.withUnsafeMutableBytes { CShimLibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            return n
        }
    }

    /// Reads until end of file or error.
    static func readAll(_ fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, into: &buffer)
            if n <= 0 { return out }
            out += buffer[0..<n]
        }
    }

    static func readFile(_ path: String) -> [UInt8]? {
        let fd = shim_open(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readAll(fd)
    }

    /// Temp file, fsync, rename: berthd reads the old file or the whole new one, even after a crash.
    /// Temp file + rename: readers see the old content or the new, never a part. Not synced:
    /// what the shim writes (the exit status) is rewritten by the next run and means nothing after a reboot.
    static func writeFileAtomically(_ path: String, _ bytes: [UInt8]) throws(ShimError) {
        let temp = path + ".tmp"
        let fd = shim_open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("create \(temp)") }
        let written = writeAll(fd, bytes)
        close(fd)
        guard written, rename(temp, path) == 0 else {
            let error = failure("write \(path)")
            unlink(temp)
            throw error
        }
    }

    /// mkdir -p.
    static func makeDirectories(_ path: String, mode: mode_t) throws(ShimError) {
        var current = path.utf8.first == UInt8(ascii: "/") ? "" : "."
        for component in path.utf8.split(separator: UInt8(ascii: "/")) {
            current += "/" + String(decoding: component, as: UTF8.self)
            if mkdir(current, mode) != 0 && errno != EEXIST { throw failure("create directory \(current)") }
        }
    }

    /// A close-on-exec pipe.
    static func pipe() throws(ShimError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard berth_pipe_cloexec(&fds) == 0 else { throw failure("pipe") }
        return (fds[0], fds[1])
    }

    /// A listening stream socket on `path` (a stale socket file is replaced), close-on-exec.
    static func listen(_ path: String) throws(ShimError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let fits = withUnsafeMutableBytes(of: &address.sun_path) { raw in
            guard bytes.count < raw.count else { return false }
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
            return true
        }
        guard fits else { throw ShimError("socket path \(path) is too long") }
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw failure("socket") }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, CShimLibc.listen(fd, 16) == 0 else {
            let error = failure("listen on \(path)")
            close(fd)
            throw error
        }
        return fd
    }

    /// One pending connection, close-on-exec.
    static func accept(_ listener: Int32) -> Int32? {
        let fd = CShimLibc.accept(listener, nil, nil)
        guard fd >= 0 else { return nil }
        _ = berth_set_cloexec(fd, 1)
        return fd
    }

    /// The descriptor a peer sent with SCM_RIGHTS (the runtime's pty master).
    static func receiveDescriptor(_ socket: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 256)
        var received = 0
        let fd = buffer.withUnsafeMutableBytes { berth_recv_fd(socket, $0.baseAddress, $0.count, &received) }
        return fd >= 0 ? fd : nil
    }

    /// execve(2); returns only on failure.
    static func exec(_ path: String, arguments: [String], environment: [String]) -> ShimError {
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        execve(path, argv, envp)
        return failure("exec \(path)")
    }

    /// The shell's view of a wait(2) status: the exit code, or 128 + the signal.
    static func shellCode(waitStatus status: Int32) -> Int32 {
        berth_wifsignaled(status) != 0 ? 128 + berth_wtermsig(status) : berth_wexitstatus(status)
    }

    /// Our argv, from /proc (Embedded Swift has no `CommandLine`).
    static func commandLine() -> [String] {
        guard let bytes = readFile("/proc/self/cmdline") else { return [] }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

/// A failure the shim reports to berthd (`ERR message`).
struct ShimError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
