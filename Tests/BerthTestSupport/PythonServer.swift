import Foundation
import Glibc

/// A Python HTTP server on 127.0.0.1 for registries that misbehave on purpose: the script is
/// written to a temp file, started with posix_spawn, waited for (bounded), killed by its pid.
public final class PythonServer: @unchecked Sendable {
    public let port: Int
    private var pid: pid_t = 0
    private let script: String

    /// `source(port)` is the server program; it must listen on 127.0.0.1:port.
    public init(source: (Int) -> String) throws {
        port = LoopbackRegistry.freePort()
        script = "/tmp/berth-pyserver-\(UInt32.random(in: 0...UInt32.max)).py"
        try source(port).write(toFile: script, atomically: true, encoding: .utf8)
        let words: [String] = ["/usr/bin/env", "python3", script]
        let args: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { args.forEach { free($0) } }
        guard posix_spawn(&pid, "/usr/bin/env", nil, nil, args, environ) == 0 else { throw CocoaError(.fileReadUnknown) }
        for _ in 0..<200 {
            if accepts() { return }
            usleep(20_000)
        }
    }

    private func accepts() -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    public func stop() {
        if pid > 0 {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        unlink(script)
    }
}
