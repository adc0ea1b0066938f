import BerthOCI
import BerthSystem
import Glibc

/// A container process's terminal: made inside the container, its master handed to the runtime.
enum ContainerTerminal {
    /// In the container process (already a session leader): opens a pty on the container's
    /// devpts, sends the master over `channel`, and makes the slave stdio and controlling terminal.
    static func attach(size: RuntimeSpec.ConsoleSize?, channel: SyncChannel) throws {
        let (master, slavePath) = try Terminal.openMaster(ptmx: "/dev/ptmx", ptsDirectory: "/dev/pts")
        if let size { try? Terminal.setSize(master, rows: UInt16(clamping: size.height), columns: UInt16(clamping: size.width)) }
        let slave = try syscallChecked("open \(slavePath)") { open(slavePath, O_RDWR | O_NOCTTY | O_CLOEXEC) }
        try channel.send("console", fd: master)
        close(master)
        for target: Int32 in 0...2 { try syscallChecked("dup2 terminal") { dup2(slave, target) } }
        if slave > 2 { close(slave) }
        try Terminal.setControlling(0)
    }

    /// In the runtime: passes the master on to `--console-socket` (returning nil), or keeps it for
    /// a foreground relay.
    static func route(master fd: Int32, consoleSocket: String?) throws -> Int32? {
        guard let consoleSocket else { return fd }
        defer { close(fd) }
        try send(fd, to: consoleSocket)
        return nil
    }

    /// Connects to the caller's console socket and sends the master as runc does (SCM_RIGHTS).
    static func send(_ fd: Int32, to socketPath: String) throws {
        let sock = try syscallChecked("create console socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        defer { close(sock) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw RuntimeError.setup("console socket path too long: \(socketPath)") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        try syscallChecked("connect to console socket \(socketPath)") {
            withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(sock, $0, len) } }
        }
        try FileDescriptors.send(fd: fd, over: sock, message: Array("/dev/ptmx".utf8))
    }
}
