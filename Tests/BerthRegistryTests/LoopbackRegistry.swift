import BerthTestSupport
import Foundation
import Glibc

/// Debian's docker-registry on 127.0.0.1, started by scripts/registry.sh with the busybox image
/// pushed as `library/busybox:latest`; stopped (by its pid) and removed by `stop()`.
final class LoopbackRegistry: @unchecked Sendable {
    static var packageRoot: String { TestEnvironment.packageRoot }

    let dir: String
    let port: Int
    var host: String { "127.0.0.1:\(port)" }

    init(htpasswd: String? = nil) throws {
        dir = "/tmp/berth-registry-\(UInt32.random(in: 0...UInt32.max))"
        port = Self.freePort()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var args = [Self.packageRoot + "/scripts/registry.sh", "start", dir, "\(port)"]
        if let htpasswd { args += ["--htpasswd", htpasswd] }
        let status = Command.run(["/bin/bash"] + args, output: dir + "/start.log")
        guard status == 0 else {
            let log = (try? String(contentsOfFile: dir + "/start.log", encoding: .utf8)) ?? ""
            stop()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "registry did not start: \(log)"])
        }
    }

    func stop() {
        Command.run(["/bin/bash", Self.packageRoot + "/scripts/registry.sh", "stop", dir])
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A port the kernel says is free right now.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
