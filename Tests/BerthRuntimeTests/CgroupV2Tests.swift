import BerthOCI
import Foundation
import Glibc
import Testing

/// cgroup v2 on a v1 host: the host's (empty) cgroup2 mount is bound over /sys/fs/cgroup in a
/// private mount namespace, so the runtime sees a pure v2 layout. Core v2 features (creation,
/// cgroup namespace, freezer, removal) work there; controllers are all bound to v1 on this host.
@Suite("berth-runtime on cgroup v2", .enabled(if: FileManager.default.fileExists(atPath: "/sys/fs/cgroup/unified/cgroup.procs")))
struct CgroupV2Tests {
    static func runtime(_ h: RuntimeHarness, _ args: [String]) throws -> CommandResult {
        try RuntimeHarness.command(["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
                                    "mount --bind /sys/fs/cgroup/unified /sys/fs/cgroup && exec \"$0\" \"$@\"",
                                    RuntimeHarness.binary, "--root", h.root] + args)
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
        let started = try RuntimeHarness.command(["/bin/sh", "-c", "exec \"$0\" \"$@\" >\(log) 2>&1", "/usr/bin/unshare", "-m",
                                                  "--propagation", "private", "/bin/sh", "-c",
                                                  "mount --bind /sys/fs/cgroup/unified /sys/fs/cgroup && exec \"$0\" \"$@\"",
                                                  RuntimeHarness.binary, "--root", h.root, "run", "-d", "--bundle", bundle, id])
        #expect(started.status == 0, "\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let cgroup = "/sys/fs/cgroup/unified/berth-test/\(id)"
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

    @Test("a limit whose v2 controller is unavailable is refused with the controller named")
    func missingController() throws {
        let h = try RuntimeHarness("cgv2missing")
        defer { h.cleanup() }
        var spec = h.spec(["true"])
        spec.linux?.resources = .init(pids: .init(limit: 10))
        let id = h.id("v2pids")
        let result = try Self.runtime(h, ["run", "--bundle", try h.bundle(id, spec), id])
        #expect(result.status == 1)
        #expect(result.stderr.contains("pids limit is unavailable"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/sys/fs/cgroup/unified/berth-test/\(id)"))
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
