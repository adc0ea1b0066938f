import BerthOCI
import Foundation
import Glibc
import Testing

@Suite("berth-runtime isolation")
struct IsolationTests {
    @Test("capabilities are dropped to the spec's sets")
    func capabilities() throws {
        let h = try RuntimeHarness("caps")
        defer { h.cleanup() }
        let result = try h.run("caps", h.spec(["grep", "^Cap", "/proc/self/status"]))
        #expect(result.status == 0, "\(result.stderr)")
        // AUDIT_WRITE (29), KILL (5), NET_BIND_SERVICE (10).
        #expect(result.stdout.contains("CapEff:\t0000000020000420"))
        #expect(result.stdout.contains("CapBnd:\t0000000020000420"))
        #expect(result.stdout.contains("CapInh:\t0000000000000000"))
    }

    @Test("a read-only root refuses writes")
    func readonlyRoot() throws {
        let h = try RuntimeHarness("ro")
        defer { h.cleanup() }
        let result = try h.run("ro", h.spec(["sh", "-c", "touch /newfile; echo rc=$?"]))
        #expect(result.stdout.contains("rc=1"))
        #expect(result.stderr.contains("Read-only file system"))
    }

    @Test("seccomp: a custom rule denies mkdir with EPERM")
    func seccompCustom() throws {
        let h = try RuntimeHarness("seccomp")
        defer { h.cleanup() }
        var spec = h.spec(["sh", "-c", "mkdir /tmp/a; echo rc=$?; grep ^Seccomp: /proc/self/status"])
        spec.linux?.seccomp = .init(defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
                                    syscalls: [.init(names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: UInt32(EPERM))])
        let result = try h.run("seccomp", spec)
        #expect(result.stdout.contains("rc=1"))
        #expect(result.stderr.contains("Operation not permitted"))
        #expect(result.stdout.contains("Seccomp:\t2"))
    }

    @Test("seccomp: Docker's default profile loads, blocks unshare without CAP_SYS_ADMIN, leaves no_new_privs off")
    func seccompDockerDefault() throws {
        let h = try RuntimeHarness("seccompdef")
        defer { h.cleanup() }
        let profile = try DockerProfileFixture.load()
        let caps = Set(h.spec([]).process?.capabilities?.effective ?? [])
        var spec = h.spec(["sh", "-c", "unshare -U true; echo rc=$?; grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status; echo ok > /tmp/f && cat /tmp/f"])
        spec.linux?.seccomp = profile.runtimeSpec(capabilities: caps)
        // As Docker's containers: a filter, yet setuid binaries still work (no no_new_privs).
        spec.process?.noNewPrivileges = false
        let blocked = try h.run("seccompdef", spec)
        #expect(blocked.stdout.contains("rc=1"), "\(blocked.stderr)")
        #expect(blocked.stdout.contains("NoNewPrivs:\t0\nSeccomp:\t2\n"), "\(blocked.stdout)")
        #expect(blocked.stdout.contains("ok"))
        // The compiled program was cached under the root; a second container takes it from there.
        let cache = h.root + "/@seccomp"
        #expect((try? FileManager.default.contentsOfDirectory(atPath: cache))?.count == 1)
        let again = try h.run("seccompdef2", spec)
        #expect(again.stdout.contains("rc=1") && again.stdout.contains("Seccomp:\t2\n"), "\(again.stderr)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: cache))?.count == 1)
        // An entry whose stored key differs (as after a hash collision) is recompiled, not trusted.
        let entry = try #require(try? FileManager.default.contentsOfDirectory(atPath: cache).first)
        let bogus = Data([4, 0, 0, 0, 0, 0, 0, 0]) + Data("nope".utf8) + Data(count: 4) + Data(repeating: 0x06, count: 8)
        try bogus.write(to: URL(fileURLWithPath: cache + "/" + entry))
        let recompiled = try h.run("seccompdef3", spec)
        #expect(recompiled.stdout.contains("rc=1") && recompiled.stdout.contains("Seccomp:\t2\n"), "\(recompiled.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: cache + "/" + entry)) != bogus)
        // The listing shows containers only.
        #expect(!(try h.runtime(["list", "-q"]).stdout.contains("@seccomp")))
        // Without the profile the same unshare works: the filter is what refused it.
        spec.linux?.seccomp = nil
        let allowed = try h.run("seccompnone", spec)
        #expect(allowed.stdout.contains("rc=0"), "\(allowed.stderr)")
    }

    @Test("a memory limit ends in an OOM kill")
    func memoryLimit() throws {
        let h = try RuntimeHarness("oom")
        defer { h.cleanup() }
        var spec = h.spec(["dd", "if=/dev/zero", "of=/dev/null", "bs=128M", "count=1"])
        spec.linux?.resources?.memory = .init(limit: 32 << 20, swap: 32 << 20)
        let result = try h.run("oom", spec)
        #expect(result.status == 128 + SIGKILL, "\(result.stdout) \(result.stderr)")
    }

    @Test("a pids limit refuses forks")
    func pidsLimit() throws {
        let h = try RuntimeHarness("pids")
        defer { h.cleanup() }
        var spec = h.spec(["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait"])
        spec.linux?.resources?.pids = .init(limit: 4)
        let result = try h.run("pids", spec)
        #expect(result.stderr.contains("can't fork") || result.stderr.contains("Resource temporarily unavailable"), "\(result.stderr)")
    }

    @Test("a user namespace maps container root to an unprivileged host uid (re-executed or forked helper)", arguments: [false, true])
    func userNamespace(fromReadOnlyMount: Bool) throws {
        let h = try RuntimeHarness("userns")
        defer { h.cleanup() }
        let binary = fromReadOnlyMount ? try h.readOnlyBinary() : RuntimeHarness.binary
        var spec = h.spec(["sh", "-c", "cat /proc/self/uid_map; id -u; sleep 30"])
        spec.linux?.namespaces?.append(.init(type: .user))
        spec.linux?.uidMappings = [.init(containerID: 0, hostID: 100_000, size: 65536)]
        spec.linux?.gidMappings = [.init(containerID: 0, hostID: 100_000, size: 65536)]
        // sysfs and cgroupfs belong to the host's user namespace: keep to what a userns may mount.
        spec.mounts = spec.mounts?.filter { !["/sys", "/sys/fs/cgroup"].contains($0.destination) }
        spec.linux?.resources = nil
        let id = h.id("userns")
        let log = h.dir + "/userns.out"
        let started = try h.runtime(["run", "-d", "--bundle", try h.bundle(id, spec), id], shellPrefix: "exec >\(log) 2>&1;", binary: binary)
        #expect(started.status == 0, "\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        let pid = try h.state(id)["pid"] as? Int ?? 0
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        #expect(status.contains("Uid:\t100000\t100000\t100000\t100000"))
        #expect(RuntimeHarness.waitFor { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("\n0\n") })
        let output = try String(contentsOfFile: log, encoding: .utf8)
        #expect(output.contains("100000"))
    }

    /// Device rules: deny-all plus the default devices; mknod of anything else is refused.
    static func deviceSpec(_ h: RuntimeHarness) -> RuntimeSpec {
        var spec = h.spec(["sh", "-c", "mknod /tmp/blk b 7 250; echo blk=$?; mknod /tmp/nul c 1 3; echo nul=$?; echo x > /dev/null; echo write=$?"])
        let caps = ["CAP_MKNOD", "CAP_KILL"]
        spec.process?.capabilities = .init(bounding: caps, effective: caps, permitted: caps)
        return spec
    }

    @Test("device rules refuse a node the spec does not allow (v1 devices controller)")
    func deviceRules() throws {
        let h = try RuntimeHarness("devices")
        defer { h.cleanup() }
        let result = try h.run("devices", Self.deviceSpec(h))
        #expect(result.stdout.contains("blk=1"), "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("nul=0"))
        #expect(result.stdout.contains("write=0"))
    }

    @Test("a hugepage limit needs the hugetlb controller: applied where mounted, refused by name where not")
    func hugetlb() throws {
        let h = try RuntimeHarness("hugetlb")
        defer { h.cleanup() }
        var spec = h.spec(["true"])
        spec.linux?.resources?.hugepageLimits = [.init(pageSize: "2MB", limit: 4 << 20)]
        let id = h.id("huge")
        let result = try h.runtime(["create", "--bundle", try h.bundle(id, spec), id])
        let mounted = RuntimeHarness.unifiedCgroups
            ? ((try? String(contentsOfFile: "/sys/fs/cgroup/cgroup.subtree_control", encoding: .utf8)) ?? "").contains("hugetlb")
            : FileManager.default.fileExists(atPath: "/sys/fs/cgroup/hugetlb/cgroup.procs")
        if mounted {
            #expect(result.status == 0, "\(result.stderr)")
            #expect(try RuntimeHarness.cgroupValue(id, v1: "hugetlb", "hugetlb.2MB.limit_in_bytes", v2: "hugetlb.2MB.max") == "\(4 << 20)")
        } else {
            #expect(result.status == 1)
            #expect(result.stderr.contains("hugetlb") && result.stderr.contains("hugepage"), "\(result.stderr)")
            #expect(try h.runtime(["list", "-q"]).stdout.isEmpty)
        }
    }
}
