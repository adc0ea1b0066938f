import BerthTestSupport
import BerthOCI
import Foundation
import Glibc
import Testing

@Suite("berth-runtime process and rootfs settings")
struct ProcessSettingsTests {
    @Test("user, groups, rlimits, OOM score, no_new_privs, umask and domainname are applied")
    func processSettings() throws {
        let h = try RuntimeHarness("procsettings")
        defer { h.cleanup() }
        var spec = h.spec(["sh", "-c", "id; ulimit -n; cat /proc/self/oom_score_adj; grep NoNewPrivs /proc/self/status; umask; cat /proc/sys/kernel/domainname"])
        spec.process?.user = .init(uid: 1000, gid: 1000, umask: 0o027, additionalGids: [5])
        spec.process?.rlimits = [.init(type: "RLIMIT_NOFILE", hard: 200, soft: 100)]
        spec.process?.oomScoreAdj = 500
        spec.process?.noNewPrivileges = true
        spec.domainname = "example.test"
        let result = try h.run("procsettings", spec)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("uid=1000 gid=1000 groups=5(tty)") == true, "\(lines)")
        #expect(lines.dropFirst().first == "100")
        #expect(lines.dropFirst(2).first == "500")
        #expect(lines.dropFirst(3).first == "NoNewPrivs:\t1")
        #expect(lines.dropFirst(4).first == "0027")
        #expect(lines.dropFirst(5).first == "example.test")
    }

    @Test("masked paths read empty, read-only paths refuse writes, namespaced sysctls apply")
    func maskedReadonlySysctl() throws {
        let h = try RuntimeHarness("masked")
        defer { h.cleanup() }
        var spec = h.spec(["sh", "-c", "wc -c < /proc/timer_list; ls /proc/acpi | wc -l; echo 1 > /proc/sys/kernel/ostype; echo rc=$?; cat /proc/sys/net/ipv4/ip_forward"])
        spec.process?.capabilities = .init(bounding: ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"], effective: ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"],
                                           permitted: ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"])
        spec.linux?.sysctl = ["net.ipv4.ip_forward": "1"]
        let result = try h.run("masked", spec)
        let lines = result.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.first == "0", "\(result.stdout) \(result.stderr)")
        #expect(lines.dropFirst().first == "0")
        #expect(lines.contains("rc=1"))
        #expect(result.stderr.contains("Read-only file system"))
        #expect(lines.last == "1")
        // A sysctl that is not namespaced would change the host: refused.
        var bad = h.spec(["true"])
        bad.linux?.sysctl = ["vm.swappiness": "10"]
        let refused = try h.run("badsysctl", bad)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("not namespaced"))
    }

    @Test("--no-pivot runs the container with MS_MOVE and chroot")
    func noPivot() throws {
        let h = try RuntimeHarness("nopivot")
        defer { h.cleanup() }
        let id = h.id("nopivot")
        let result = try h.runtime(["run", "--no-pivot", "--bundle", try h.bundle(id, h.spec(["sh", "-c", "ls /bin/busybox && echo pid=$$"])), id])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("pid=1"))
    }

    @Test("a namespace path joins another container's namespace; kill --all signals every process")
    func joinAndKillAll() throws {
        let h = try RuntimeHarness("joinns")
        defer { h.cleanup() }
        let first = h.id("first")
        #expect(try h.runtime(["run", "-d", "--bundle", try h.bundle(first, h.spec(["sh", "-c", "sleep 60 & sleep 60 & wait"])), first]).status == 0)
        let pid = try h.state(first)["pid"] as? Int ?? 0
        var spec = h.spec(["readlink", "/proc/self/ns/net"])
        let namespaces = (spec.linux?.namespaces ?? []).map { $0.type == .network ? RuntimeSpec.Namespace(type: .network, path: "/proc/\(pid)/ns/net") : $0 }
        spec.linux?.namespaces = namespaces
        let joined = try h.run("second", spec)
        #expect(joined.status == 0, "\(joined.stderr)")
        #expect(joined.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == (try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/net")))
        #expect(RuntimeHarness.waitFor { ((try? h.runtime(["ps", "--format", "json", first]).stdout) ?? "").split(separator: ",").count == 3 })
        #expect(try h.runtime(["kill", "--all", first, "KILL"]).status == 0)
        #expect(try RuntimeHarness.waitFor { (try h.state(first))["status"] as? String == "stopped" })
        #expect(try h.runtime(["ps", "--format", "json", first]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
    }

    @Test("a foreground run leaves no mounts, cgroups or processes behind")
    func noLeftovers() throws {
        let h = try RuntimeHarness("leftovers")
        defer { h.cleanup() }
        let id = h.id("leftover")
        let marker = "sleep \(Int.random(in: 100_000...999_999))"
        let result = try h.runtime(["run", "--bundle", try h.bundle(id, h.spec(["sh", "-c", "\(marker) & echo started"])), id])
        #expect(result.status == 0)
        // Nothing the container mounted reached the host's mount table (other tests mount too,
        // so look for our paths rather than count).
        let hostMounts = TestEnvironment.mountTable()
        #expect(!hostMounts.contains(h.dir))
        #expect(!hostMounts.contains(RuntimeHarness.rootfs))
        #expect(!FileManager.default.fileExists(atPath: RuntimeHarness.cgroupFile(id, v1: "pids", "cgroup.procs", v2: "cgroup.procs")))
        #expect(!FileManager.default.fileExists(atPath: h.root + "/" + id))
        // The background sleep died with its pid namespace.
        let ps = try RuntimeHarness.command(["/bin/sh", "-c", "ps -eo args | grep -c '^\(marker)$' || true"])
        #expect(ps.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }
}
