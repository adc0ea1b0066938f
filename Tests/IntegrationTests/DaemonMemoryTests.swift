import BerthTestSupport
import Foundation
import Testing

/// What berthd and its shims hold while they wait: the daemon gives memory back after a quiet
/// spell, and a container's shim stays small.
@Suite("berthd and berth-shim memory")
struct DaemonMemoryTests {
    /// A `/proc/PID/status` field in KiB.
    static func statusKiB(_ pid: pid_t, _ field: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") }
        return line.flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) }
    }

    @Test func idleDaemonReleasesPagesAndServesAfterwards() throws {
        let daemon = try DaemonHarness("memory")
        defer { daemon.shutdown() }
        #expect(daemon.docker("run", "--rm", "--network", "none", "busybox", "echo", "busy").stdout == "busy\n")
        let busy = try #require(Self.statusKiB(daemon.pid, "RssFile"))
        // After two quiet seconds the daemon drops the pages of code it is not running.
        #expect(Command.eventually(timeout: 20) { (Self.statusKiB(daemon.pid, "RssFile") ?? .max) < busy / 2 },
                "RssFile stayed near \(busy) KiB")
        #expect(daemon.docker("run", "--rm", "--network", "none", "busybox", "echo", "again").stdout == "again\n")
    }

    @Test func aRunningContainersShimStaysUnderOneMebibyte() throws {
        let daemon = try DaemonHarness("shimrss")
        defer { daemon.shutdown() }
        #expect(daemon.docker("run", "-d", "--name", "idle", "--network", "none", "busybox", "sleep", "600").status == 0)
        defer { _ = daemon.docker("rm", "-f", "idle") }
        let pid = Int32(daemon.docker("inspect", "-f", "{{.State.Pid}}", "idle").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        try #require(pid > 0)
        // The shim is the container process's parent (it is the subreaper that runs the runtime).
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        let shim = fields.count > 1 ? Int32(fields[1]) ?? 0 : 0
        let command = (try? String(contentsOfFile: "/proc/\(shim)/cmdline", encoding: .utf8)) ?? ""
        #expect(command.hasSuffix("\0") && command.contains("berth-shim"), "parent \(shim): \(command)")
        let resident = Self.statusKiB(shim, "VmRSS") ?? .max
        #expect(resident <= 1024, "berth-shim holds \(resident) KiB")
    }
}
