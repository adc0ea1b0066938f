import BerthOCI
import BerthTestSupport
import Foundation
import Glibc
import Testing

/// Configs that other engines and conformance suites write, which berthd never does.
@Suite("berth-runtime: OCI conformance gaps")
struct ConformanceTests {
    /// A profile that refuses the calls a runtime makes for itself after setting up a process
    /// (the descriptor sweep, signal resets, cwd, umask): the filter must come after all of them.
    static func strictProfile() -> RuntimeSpec.Seccomp {
        .init(defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
              syscalls: [.init(names: ["close_range", "fcntl", "rt_sigaction", "chdir", "getcwd", "umask"],
                               action: "SCMP_ACT_ERRNO", errnoRet: UInt32(EPERM))])
    }

    @Test("a seccomp profile that refuses close_range, fcntl, rt_sigaction, chdir, getcwd and umask still starts the container",
          arguments: [true, false])
    func seccompLoadedLast(noNewPrivileges: Bool) throws {
        let h = try RuntimeHarness("seccomplast")
        defer { h.cleanup() }
        var spec = h.spec(["echo", "started"])
        spec.process?.noNewPrivileges = noNewPrivileges
        spec.linux?.seccomp = Self.strictProfile()
        let result = try h.run("seccomplast", spec)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "started\n")
    }

    @Test("a FIFO in linux.devices is created, and needs no device cgroup rule")
    func fifoDevice() throws {
        let h = try RuntimeHarness("fifo")
        defer { h.cleanup() }
        let spec = h.spec(["sh", "-c", "test -p /dev/fifo0 && stat -c '%a %u' /dev/fifo0"])
        let id = h.id("fifo")
        let bundle = try h.bundle(id, spec) { config in
            var linux = config["linux"] as? [String: Any] ?? [:]
            linux["devices"] = [["type": "p", "path": "/dev/fifo0", "fileMode": 0o640, "uid": 0, "gid": 0]]
            config["linux"] = linux
        }
        let result = try h.runtime(["run", "--bundle", bundle, id])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "640 0\n", "\(result.stderr)")
    }
    @Test("a systemd-form cgroupsPath is one directory name under the cgroupfs driver (as in runc); --systemd-cgroup needs systemd")
    func systemdFormCgroupPath() throws {
        let h = try RuntimeHarness("sdpath")
        defer { h.cleanup() }
        var spec = h.spec(["cat", "/proc/self/cgroup"])
        spec.linux?.namespaces?.removeAll { $0.type == .cgroup }
        let id = h.id("sdpath")
        spec.linux?.cgroupsPath = "berthtest-pod.slice:cri:\(id)"
        let result = try h.runtime(["run", "--bundle", try h.bundle(id, spec), id])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("/berthtest-pod.slice:cri:\(id)\n"), "\(result.stdout)")
        if !FileManager.default.fileExists(atPath: "/run/systemd/system") && ProcessInfo.processInfo.environment["BERTH_SYSTEMD_SOCKET"] == nil {
            let id2 = h.id("sdpath")
            let refused = try h.runtime(["--systemd-cgroup", "create", "--bundle", try h.bundle(id2, spec), id2])
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("systemd not running on this host, cannot use systemd cgroups manager"))
        }
    }

    /// No systemd runs here: scripts/fake-systemd.py answers on a socket of the test's with real
    /// D-Bus (libdbus), creating the unit's cgroup where systemd would.
    @Test("--systemd-cgroup: the scope is started through systemd's D-Bus API with the helper in it, and stopped by delete",
          .enabled(if: FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/dbus")
                   && FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/gi")))
    func systemdDriverOverDBus() throws {
        let h = try RuntimeHarness("sddbus")
        let socket = h.dir + "/systemd.sock", log = h.dir + "/systemd.log"
        let fake = Process()
        fake.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        fake.arguments = [RuntimeHarness.packageRoot + "/scripts/fake-systemd.py", socket, log]
        try fake.run()
        let fakePid = fake.processIdentifier
        try #require(fakePid > 0)
        let slice = "berthtest-sd\(UInt32.random(in: 0...UInt32.max))"
        defer {
            kill(fakePid, SIGKILL)
            fake.waitUntilExit()
            h.cleanup()
            let hierarchies = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []
            for root in ["/sys/fs/cgroup"] + hierarchies.map({ "/sys/fs/cgroup/" + $0 }) {
                rmdir(root + "/berthtest.slice/\(slice).slice")
                rmdir(root + "/berthtest.slice")
            }
        }
        #expect(try RuntimeHarness.waitFor { FileManager.default.fileExists(atPath: socket) })
        var spec = h.spec(["cat", "/proc/self/cgroup"])
        spec.linux?.namespaces?.removeAll { $0.type == .cgroup }
        let id = h.id("sddbus")
        spec.linux?.cgroupsPath = "\(slice).slice:cri:\(id)"
        let bundle = try h.bundle(id, spec)
        let result = try h.runtime(["--systemd-cgroup", "run", "--bundle", bundle, id], shellPrefix: "BERTH_SYSTEMD_SOCKET=\(socket)")
        #expect(result.status == 0, "\(result.stderr)")
        let scope = "/berthtest.slice/\(slice).slice/cri-\(id).scope"
        // Every hierarchy: those systemd manages (placed by it) and the others (joined by the helper).
        let lines = result.stdout.split(separator: "\n").filter { $0.contains(":memory:") || $0.contains(":pids:") || $0.contains(":cpuset:") || $0.hasPrefix("0::") && RuntimeHarness.unifiedCgroups }
        #expect(!lines.isEmpty && lines.allSatisfy { $0.hasSuffix(":" + scope) }, "\(result.stdout)")
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let start = try #require(calls.first { $0["call"] as? String == "StartTransientUnit" })
        #expect(start["name"] as? String == "cri-\(id).scope")
        #expect(start["slice"] as? String == "\(slice).slice")
        #expect(start["delegate"] as? Bool == true)
        #expect((start["pids"] as? [Int])?.count == 1)
        #expect(calls.contains { $0["call"] as? String == "StopUnit" && $0["name"] as? String == "cri-\(id).scope" })
        #expect(!FileManager.default.fileExists(atPath: RuntimeHarness.unifiedCgroups ? "/sys/fs/cgroup" + scope : "/sys/fs/cgroup/memory" + scope))
    }

    /// The busybox rootfs bound at a directory of the harness, as a shared mount (a host with
    /// systemd shares everything): slave and shared propagation are then visible in the
    /// container's mount table. Returns the path; `unbind` undoes it.
    static func sharedRootfs(_ h: RuntimeHarness, shared: Bool = true) throws -> String {
        let path = h.dir + "/rootfs"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try #require(mount(RuntimeHarness.rootfs, path, nil, UInt(MS_BIND | MS_REC), nil) == 0)
        try #require(mount(nil, path, nil, UInt(shared ? MS_SHARED : MS_PRIVATE), nil) == 0)
        return path
    }

    static func unbind(_ path: String) { umount2(path, Int32(MNT_DETACH)) }

    /// The optional fields (`shared:N`, `master:N`, `unbindable`) of the mount at `point` in a
    /// mountinfo text; nil if nothing is mounted there.
    static func propagationFields(_ mountinfo: String, at point: String) -> [String]? {
        for line in mountinfo.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count > 6, fields[4] == point, let dash = fields.firstIndex(of: "-") else { continue }
            return Array(fields[6..<dash])
        }
        return nil
    }

    @Test("rootfsPropagation: every value of the spec, applied to the container's root",
          arguments: ["private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"])
    func rootfsPropagation(value: String) throws {
        let h = try RuntimeHarness("propagation")
        let rootfs = try Self.sharedRootfs(h)
        defer {
            Self.unbind(rootfs)
            h.cleanup()
        }
        var spec = h.spec(["cat", "/proc/self/mountinfo"])
        spec.root = .init(path: rootfs, readonly: true)
        spec.linux?.rootfsPropagation = value
        let result = try h.run("propagation", spec)
        #expect(result.status == 0, "\(result.stderr)")
        let root = try #require(Self.propagationFields(result.stdout, at: "/"), "\(result.stdout)")
        let tmp = Self.propagationFields(result.stdout, at: "/tmp") ?? []
        func kind(_ fields: [String]) -> String {
            if fields.contains(where: { $0.hasPrefix("shared:") }) { return "shared" }
            if fields.contains(where: { $0.hasPrefix("master:") }) { return "slave" }
            return fields.contains("unbindable") ? "unbindable" : "private"
        }
        let base = value.hasPrefix("r") ? String(value.dropFirst()) : value
        #expect(kind(root) == base, "\(root)")
        // The recursive values reach the mounts under the root too.
        if value.hasPrefix("r") && base != "slave" { #expect(kind(tmp) == base, "/tmp: \(tmp)") }
    }

    @Test("without a mount namespace: the container is chrooted into its rootfs, exec joins it there, and delete leaves no mount on the host")
    func noMountNamespace() throws {
        let h = try RuntimeHarness("nomntns")
        let rootfs = try Self.sharedRootfs(h, shared: false)
        defer {
            Self.unbind(rootfs)
            h.cleanup()
        }
        func mountsUnderRoot() -> Int {
            TestEnvironment.mountTable().split(separator: "\n").filter { $0.split(separator: " ").dropFirst(4).first?.hasPrefix(rootfs) == true }.count
        }
        let before = mountsUnderRoot()
        var spec = h.spec(["sleep", "60"])
        spec.root = .init(path: rootfs, readonly: true)
        spec.linux?.namespaces?.removeAll { $0.type == .mount }
        spec.linux?.maskedPaths = nil
        spec.linux?.readonlyPaths = nil
        let id = h.id("nomntns")
        let created = try h.runtime(["create", "--bundle", try h.bundle(id, spec), id])
        try #require(created.status == 0, "\(created.stderr)")
        #expect(try h.runtime(["start", id]).status == 0)
        let pid = try #require((try h.state(id))["pid"] as? Int)
        let hostMountNS = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/mnt") == hostMountNS)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/root") == rootfs)
        // The spec's mounts are there, on the host, stacked on the runtime's bind of the rootfs.
        #expect(mountsUnderRoot() > before)
        let exec = try h.runtime(["exec", id, "sh", "-c", "test -x /bin/busybox && test -d /proc/1 && ! test -e \(h.dir) && echo inside"])
        #expect(exec.status == 0, "\(exec.stderr)")
        #expect(exec.stdout == "inside\n")
        #expect(try h.runtime(["delete", "--force", id]).status == 0)
        #expect(mountsUnderRoot() == before)
    }

    @Test("namespaces absent from the spec are the runtime's: with only a mount namespace, pid, net, uts, ipc and cgroup are the host's")
    func absentNamespacesAreShared() throws {
        let h = try RuntimeHarness("sharedns")
        defer { h.cleanup() }
        let kinds = ["pid", "net", "uts", "ipc", "cgroup"]
        var spec = h.spec(["sh", "-c", kinds.map { "readlink /proc/self/ns/\($0)" }.joined(separator: "; ")])
        spec.linux?.namespaces = [.init(type: .mount)]
        spec.hostname = nil
        let result = try h.run("sharedns", spec)
        #expect(result.status == 0, "\(result.stderr)")
        let host = try kinds.map { try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/\($0)") }
        #expect(result.stdout.split(separator: "\n").map(String.init) == host)
    }

    @Test("a spec that needs a mount namespace for what it asks is refused without one")
    func maskedPathsNeedMountNamespace() throws {
        let h = try RuntimeHarness("nomntnsmask")
        defer { h.cleanup() }
        var spec = h.spec(["true"])
        spec.linux?.namespaces?.removeAll { $0.type == .mount }
        let id = h.id("mask")
        let result = try h.runtime(["create", "--bundle", try h.bundle(id, spec), id])
        #expect(result.status == 1)
        #expect(result.stderr.contains("linux.maskedPaths and readonlyPaths need a mount namespace"))
    }

    /// Each mistake, and the words the refusal must contain. Found at `create`, nothing is left.
    static let invalidConfigs: [(String, @Sendable (inout [String: Any]) -> Void)] = [
        ("unknown capability CAP_FLY", { c in Self.edit(&c, "process") { $0["capabilities"] = ["bounding": ["CAP_CHOWN", "CAP_FLY"]] } }),
        ("unknown rlimit type RLIMIT_SPEED", { c in Self.edit(&c, "process") { $0["rlimits"] = [["type": "RLIMIT_SPEED", "hard": 1, "soft": 1]] } }),
        ("RLIMIT_NOFILE soft limit 10 is above its hard limit 5", { c in Self.edit(&c, "process") { $0["rlimits"] = [["type": "RLIMIT_NOFILE", "hard": 5, "soft": 10]] } }),
        ("process.cwd \"relative\" must be an absolute path", { c in Self.edit(&c, "process") { $0["cwd"] = "relative" } }),
        ("process.oomScoreAdj 5000", { c in Self.edit(&c, "process") { $0["oomScoreAdj"] = 5000 } }),
        ("ipc path /etc/hostname is not a namespace", { c in Self.edit(&c, "linux") { $0["namespaces"] = [["type": "mount"], ["type": "ipc", "path": "/etc/hostname"]] } }),
        ("ipc path /proc/self/ns/net is a network namespace", { c in Self.edit(&c, "linux") { $0["namespaces"] = [["type": "mount"], ["type": "ipc", "path": "/proc/self/ns/net"]] } }),
        ("pid is listed twice", { c in Self.edit(&c, "linux") { $0["namespaces"] = [["type": "mount"], ["type": "pid"], ["type": "pid"]] } }),
        ("hostname needs a UTS namespace", { c in
            c["hostname"] = "renamed"
            Self.edit(&c, "linux") { $0["namespaces"] = [["type": "mount"], ["type": "pid"]] }
        }),
        ("uidMappings and gidMappings need a user namespace", { c in Self.edit(&c, "linux") { $0["uidMappings"] = [["containerID": 0, "hostID": 1000, "size": 1]] } }),
        ("vm.swappiness is not namespaced", { c in Self.edit(&c, "linux") { $0["sysctl"] = ["vm.swappiness": "10"] } }),
        ("net.ipv4.ip_forward needs a network namespace", { c in Self.edit(&c, "linux") {
            $0["sysctl"] = ["net.ipv4.ip_forward": "1"]
            $0["namespaces"] = [["type": "mount"], ["type": "pid"], ["type": "uts"]]
        } }),
        ("rootfsPropagation \"sideways\"", { c in Self.edit(&c, "linux") { $0["rootfsPropagation"] = "sideways" } }),
        ("/dev/x has type \"q\"", { c in Self.edit(&c, "linux") { $0["devices"] = [["type": "q", "path": "/dev/x", "major": 1, "minor": 3]] } }),
        ("memory.limit -5", { c in Self.edit(&c, "linux") { $0["resources"] = ["memory": ["limit": -5]] } }),
        ("cpu.period 10", { c in Self.edit(&c, "linux") { $0["resources"] = ["cpu": ["period": 10]] } }),
        ("cpu.cpus \"a-b\"", { c in Self.edit(&c, "linux") { $0["resources"] = ["cpu": ["cpus": "a-b"]] } }),
        ("access \"rwx\"", { c in Self.edit(&c, "linux") { $0["resources"] = ["devices": [["allow": true, "access": "rwx"]]] } }),
        ("process.apparmorProfile (AppArmor is not supported) is not supported", { c in Self.edit(&c, "process") { $0["apparmorProfile"] = "docker-default" } }),
        ("linux.personality is not supported", { c in Self.edit(&c, "linux") { $0["personality"] = ["domain": "LINUX32"] } }),
    ]

    static func edit(_ config: inout [String: Any], _ key: String, _ body: (inout [String: Any]) -> Void) {
        var object = config[key] as? [String: Any] ?? [:]
        body(&object)
        config[key] = object
    }

    @Test("create refuses what it can check, naming the field, and leaves no state or cgroup", arguments: 0..<invalidConfigs.count)
    func refusedAtCreate(index: Int) throws {
        let (message, edit) = Self.invalidConfigs[index]
        let h = try RuntimeHarness("invalid")
        defer { h.cleanup() }
        let id = h.id("invalid")
        let bundle = try h.bundle(id, h.spec(["true"]), editJSON: edit)
        let result = try h.runtime(["create", "--bundle", bundle, id])
        #expect(result.status == 1)
        let printed = result.stderr.replacingOccurrences(of: "\\\"", with: "\"")
        #expect(printed.contains("invalid config.json: "), "\(printed)")
        #expect(printed.contains(message), "\(printed)")
        #expect(try h.runtime(["state", id]).status == 1)
        #expect(!FileManager.default.fileExists(atPath: RuntimeHarness.cgroupFile(id, v1: "pids", "cgroup.procs", v2: "cgroup.procs")))
    }

    @Test("a config.json rewritten between create and start changes nothing; a missing cwd is created")
    func configFixedAtCreate() throws {
        let h = try RuntimeHarness("fixed")
        defer { h.cleanup() }
        let out = h.dir + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        var spec = h.spec(["sh", "-c", "echo \"$(hostname) $(pwd)\" > /out/result"])
        spec.hostname = "original"
        spec.process?.cwd = "/tmp/made/here"
        spec.linux?.rootfsPropagation = "rshared"
        spec.mounts?.append(.init(destination: "/out", type: "bind", source: out, options: ["rbind", "rw"]))
        let id = h.id("fixed")
        let bundle = try h.bundle(id, spec)
        try #require(try h.runtime(["create", "--bundle", bundle, id]).status == 0)
        var changed = spec
        changed.hostname = "changed"
        changed.process?.args = ["sh", "-c", "echo changed > /out/result"]
        _ = try h.bundle(id, changed)
        #expect(try h.runtime(["start", id]).status == 0)
        #expect(try RuntimeHarness.waitFor { (try h.state(id))["status"] as? String == "stopped" })
        #expect(try String(contentsOfFile: out + "/result", encoding: .utf8) == "original /tmp/made/here\n")
    }
}

/// containerd's runc shim and other callers read runc's exit codes and messages; each command
/// in each state answers as runc 1.1 does (checked side by side on this host).
@Suite("berth-runtime: runc's answers in every state")
struct RuncAnswersTests {
    enum State: String, CaseIterable { case created, running, paused, stopped, unknown }

    /// command → state → (exit status, message); an empty message means success.
    static let expected: [(command: [String], answers: [State: (Int32, String)])] = [
        (["start"], [.created: (0, ""), .running: (1, "cannot start an already running container"),
                     .paused: (1, "cannot start a container in the paused state"),
                     .stopped: (1, "cannot start a container that has stopped"), .unknown: (1, "container does not exist")]),
        (["kill", "ID", "TERM"], [.created: (0, ""), .running: (0, ""), .paused: (0, ""),
                                   .stopped: (1, "container not running"), .unknown: (1, "container does not exist")]),
        (["kill", "--all", "ID", "KILL"], [.created: (0, ""), .running: (0, ""), .paused: (0, ""), .stopped: (0, ""),
                                            .unknown: (1, "container does not exist")]),
        (["pause"], [.created: (0, ""), .running: (0, ""), .paused: (1, "container not running"),
                     .stopped: (1, "container not running"), .unknown: (1, "container does not exist")]),
        (["resume"], [.created: (1, "container not paused"), .running: (1, "container not paused"), .paused: (0, ""),
                      .stopped: (1, "container not paused"), .unknown: (1, "container does not exist")]),
        (["exec", "ID", "true"], [.created: (0, ""), .running: (0, ""),
                                  .paused: (255, "exec failed: cannot exec in a paused container (use --ignore-paused to override)"),
                                  .stopped: (255, "exec failed: cannot exec in a stopped container"),
                                  .unknown: (255, "exec failed: container does not exist")]),
        (["update", "--pids-limit", "10", "ID"], [.created: (0, ""), .running: (0, ""), .paused: (0, ""),
                                                   .stopped: (1, "container not running"), .unknown: (1, "container does not exist")]),
        (["delete"], [.created: (0, ""), .running: (1, "cannot delete container ID that is not stopped: running"),
                      .paused: (1, "cannot delete container ID that is not stopped: paused"), .stopped: (0, ""),
                      .unknown: (1, "container does not exist")]),
    ]

    @Test("exit codes and messages match runc's", arguments: State.allCases)
    func answers(state: State) throws {
        let h = try RuntimeHarness("answers-\(state.rawValue)")
        defer { h.cleanup() }
        for (command, answers) in Self.expected {
            let id = h.id(state.rawValue)
            let bundle = try h.bundle(id, h.spec(["sleep", "60"]))
            switch state {
            case .unknown: break
            default:
                try #require(try h.runtime(["create", "--bundle", bundle, id]).status == 0)
                if state != .created { try #require(try h.runtime(["start", id]).status == 0) }
                if state == .paused { try #require(try h.runtime(["pause", id]).status == 0) }
                if state == .stopped {
                    try #require(try h.runtime(["kill", id, "KILL"]).status == 0)
                    try #require(try RuntimeHarness.waitFor { (try h.state(id))["status"] as? String == "stopped" })
                }
            }
            let argv = command.contains("ID") ? command.map { $0 == "ID" ? id : $0 } : command + [id]
            let result = try h.runtime(argv)
            let (status, message) = answers[state]!
            // Printed as runc prints it without --log: one logrus line, `level=error msg="…"`.
            let printed = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(result.status == status, "\(argv) in \(state): \(printed)")
            if message.isEmpty {
                #expect(printed.isEmpty, "\(argv) in \(state)")
            } else {
                #expect(printed.hasSuffix("level=error msg=\"\(message.replacingOccurrences(of: "ID", with: id))\""), "\(argv) in \(state): \(printed)")
            }
            _ = try h.runtime(["delete", "--force", id])
        }
    }

    @Test("create of an id in use answers runc's message")
    func createTwice() throws {
        let h = try RuntimeHarness("twice")
        defer { h.cleanup() }
        let id = h.id("twice")
        let bundle = try h.bundle(id, h.spec(["sleep", "60"]))
        try #require(try h.runtime(["create", "--bundle", bundle, id]).status == 0)
        let again = try h.runtime(["create", "--bundle", bundle, id])
        #expect(again.status == 1)
        #expect(again.stderr.contains("container with given ID already exists"))
    }
}
