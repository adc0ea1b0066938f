import BerthOCI
import Foundation
import Glibc
import Testing

/// Where this host's cgroup v2 hierarchy is: on a pure v2 host (what most users run) it is
/// /sys/fs/cgroup itself; on a hybrid host (this VM) it is /sys/fs/cgroup/unified, and the tests
/// bind it over /sys/fs/cgroup in a private mount namespace so the runtime sees a pure v2 layout.
enum CgroupV2Host {
    static let hybrid = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/unified/cgroup.procs")
    static let root: String? = hybrid ? "/sys/fs/cgroup/unified"
        : FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.procs") ? "/sys/fs/cgroup" : nil
    static var available: Bool { root != nil }

    /// Controllers the v2 hierarchy offers (none on a hybrid host, where all are bound to v1).
    static var controllers: Set<String> {
        guard let root, let text = try? String(contentsOfFile: root + "/cgroup.controllers", encoding: .utf8) else { return [] }
        return Set(text.split(whereSeparator: \.isWhitespace).map(String.init))
    }

    /// `argv` as the runtime would be run on a v2 host: on a hybrid host, inside a private mount
    /// namespace with the v2 hierarchy bound over /sys/fs/cgroup.
    static func wrap(_ argv: [String]) -> [String] {
        guard hybrid else { return argv }
        return ["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                "mount --bind /sys/fs/cgroup/unified /sys/fs/cgroup && exec \"$0\" \"$@\""] + argv
    }
}

/// cgroup v2: creation, the cgroup namespace, the freezer, removal, limits and device rules, on
/// a pure v2 host and on a hybrid one.
@Suite("berth-runtime on cgroup v2", .enabled(if: CgroupV2Host.available, "this host has no cgroup v2 hierarchy"))
struct CgroupV2Tests {
    static func runtime(_ h: RuntimeHarness, _ args: [String]) throws -> CommandResult {
        try RuntimeHarness.command(CgroupV2Host.wrap([RuntimeHarness.binary, "--root", h.root] + args))
    }

    @Test("containers get a v2 cgroup and namespace, pause through cgroup.freeze, and are removed")
    func lifecycle() throws {
        let h = try RuntimeHarness("cgv2")
        defer {
            for id in h.ids { _ = try? Self.runtime(h, ["delete", "--force", id]) }
            h.cleanup()
        }
        let id = h.id("v2")
        var spec = h.spec(["sh", "-c", "cat /proc/self/cgroup; ls /sys/fs/cgroup/cgroup.procs; sleep 60"])
        spec.linux?.resources = nil
        let log = h.dir + "/v2.out"
        let bundle = try h.bundle(id, spec)
        let started = try RuntimeHarness.command(["/bin/sh", "-c", "exec \"$0\" \"$@\" >\(log) 2>&1"]
                                                 + CgroupV2Host.wrap([RuntimeHarness.binary, "--root", h.root, "run", "-d", "--bundle", bundle, id]))
        #expect(started.status == 0, "\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let cgroup = try #require(CgroupV2Host.root) + "/berth-test/\(id)"
        #expect(FileManager.default.fileExists(atPath: cgroup + "/cgroup.procs"))
        #expect(RuntimeHarness.waitFor { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("cgroup.procs") })
        let output = try String(contentsOfFile: log, encoding: .utf8)
        #expect(output.contains("0::/\n"), "\(output)")
        #expect(try Self.runtime(h, ["pause", id]).status == 0)
        #expect(try String(contentsOfFile: cgroup + "/cgroup.freeze", encoding: .utf8).hasPrefix("1"))
        #expect(try Self.runtime(h, ["state", id]).stdout.contains("\"paused\""))
        #expect(try Self.runtime(h, ["resume", id]).status == 0)
        #expect(try Self.runtime(h, ["state", id]).stdout.contains("\"running\""))
        #expect(try Self.runtime(h, ["delete", "--force", id]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: cgroup))
    }

    @Test("a limit whose v2 controller is unavailable is refused with the controller named",
          .enabled(if: !CgroupV2Host.controllers.contains("pids"), "the pids controller is available in the v2 hierarchy"))
    func missingController() throws {
        let h = try RuntimeHarness("cgv2missing")
        defer { h.cleanup() }
        var spec = h.spec(["true"])
        spec.linux?.resources = .init(pids: .init(limit: 10))
        let id = h.id("v2pids")
        let result = try Self.runtime(h, ["run", "--bundle", try h.bundle(id, spec), id])
        #expect(result.status == 1)
        #expect(result.stderr.contains("pids limit is unavailable"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: (CgroupV2Host.root ?? "") + "/berth-test/\(id)"))
    }

    @Test("a pids limit is written to the container's v2 cgroup",
          .enabled(if: CgroupV2Host.controllers.contains("pids"), "the pids controller is bound to cgroup v1 on this host"))
    func pidsLimit() throws {
        let h = try RuntimeHarness("cgv2pids")
        defer {
            for id in h.ids { _ = try? Self.runtime(h, ["delete", "--force", id]) }
            h.cleanup()
        }
        var spec = h.spec(["sleep", "60"])
        spec.linux?.resources = .init(pids: .init(limit: 10))
        let id = h.id("v2pidsmax")
        let log = h.dir + "/pids.out"
        let started = try RuntimeHarness.command(["/bin/sh", "-c", "exec \"$0\" \"$@\" >\(log) 2>&1"]
                                                 + CgroupV2Host.wrap([RuntimeHarness.binary, "--root", h.root, "run", "-d", "--bundle", try h.bundle(id, spec), id]))
        #expect(started.status == 0, "\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let limit = try String(contentsOfFile: try #require(CgroupV2Host.root) + "/berth-test/\(id)/pids.max", encoding: .utf8)
        #expect(limit == "10\n")
    }

    @Test("device rules are enforced by an eBPF program on v2")
    func deviceFilter() throws {
        let h = try RuntimeHarness("cgv2dev")
        defer { h.cleanup() }
        var spec = IsolationTests.deviceSpec(h)
        spec.linux?.resources = .init(devices: [.init(allow: false, access: "rwm")])
        let id = h.id("v2dev")
        let result = try Self.runtime(h, ["run", "--bundle", try h.bundle(id, spec), id])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("blk=1"), "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("nul=0"))
        #expect(result.stdout.contains("write=0"))
        // Control: with an allow-all rule the same mknod works, so the filter is what refused it.
        spec.linux?.resources = .init(devices: [.init(allow: true, access: "rwm")])
        let open = h.id("v2devopen")
        let allowed = try Self.runtime(h, ["run", "--bundle", try h.bundle(open, spec), open])
        #expect(allowed.stdout.contains("blk=0"), "\(allowed.stdout) \(allowed.stderr)")
    }
}
