import BerthOCI
@testable import BerthEngine
import Testing

/// Docker's Config and HostConfig → the OCI spec, field by field, without a host: SpecBuilder
/// is pure (the user and the host's facts come in).
@Suite("SpecBuilder: HostConfig to OCI spec")
struct SpecBuilderTests {
    static let facts = HostFacts(capabilities: ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                                                "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                                                "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", "CAP_SYS_ADMIN"],
                                 kernelRelease: "6.1.0")

    static func spec(config: [String: JSONValue] = [:], host: [String: JSONValue] = [:], initBinary: String? = nil,
                     joined: JoinedNamespaces = JoinedNamespaces(), devices: HostDevices = HostDevices(),
                     remap: UserNamespaceRemap? = nil) throws -> RuntimeSpec {
        var hostConfig = host
        if hostConfig["NetworkMode"] == nil { hostConfig["NetworkMode"] = .string("none") }
        let record = ContainerRecord(id: "0123456789abcdef0123", name: "unit", created: "", path: "sh", args: ["-c", "true"],
                                     image: "sha256:00", config: ContainerConfig(json: .object(config)),
                                     hostConfig: HostConfig(json: .object(hostConfig)),
                                     runtime: "berth-runtime", directory: "/run/unit")
        return try SpecBuilder(record: record, rootfs: "/rootfs", user: .init(uid: 7, gid: 8), initBinary: initBinary,
                               defaultSeccomp: nil, facts: facts, joined: joined, devices: devices, remap: remap).build()
    }

    static func mount(_ spec: RuntimeSpec, _ destination: String) -> RuntimeSpec.Mount? {
        spec.mounts?.first { $0.destination == destination }
    }

    @Test("process: command, env, cwd, user, tty, init, no-new-privileges, OOM score, ulimits, console size")
    func process() throws {
        let spec = try Self.spec(config: ["Env": .array([.string("A=1")]), "WorkingDir": .string("/w"), "Tty": .bool(true)],
                                 host: ["SecurityOpt": .array([.string("no-new-privileges")]), "OomScoreAdj": .int(300),
                                        "Ulimits": .array([.object(["Name": .string("nofile"), "Soft": .int(10), "Hard": .int(20)])]),
                                        "ConsoleSize": .array([.int(40), .int(120)])],
                                 initBinary: "/bin/berth-init")
        let process = try #require(spec.process)
        #expect(process.args == ["/sbin/docker-init", "--", "sh", "-c", "true"])
        #expect(process.env == ["A=1"] && process.cwd == "/w" && process.terminal == true)
        #expect(process.user.uid == 7 && process.user.gid == 8)
        #expect(process.noNewPrivileges == true && process.oomScoreAdj == 300)
        #expect(process.rlimits == [.init(type: "RLIMIT_NOFILE", hard: 20, soft: 10)])
        #expect(process.consoleSize?.height == 40 && process.consoleSize?.width == 120)
        #expect(Self.mount(spec, "/sbin/docker-init")?.source == "/bin/berth-init")
    }

    @Test("capabilities: Docker's default set, --cap-add and --cap-drop, privileged gets the host's")
    func capabilities() throws {
        let plain = try #require(try Self.spec().process?.capabilities?.bounding)
        #expect(plain.contains("CAP_CHOWN") && !plain.contains("CAP_SYS_ADMIN"))
        let changed = try #require(try Self.spec(host: ["CapAdd": .array([.string("SYS_ADMIN")]), "CapDrop": .array([.string("chown")])])
            .process?.capabilities?.bounding)
        #expect(changed.contains("CAP_SYS_ADMIN") && !changed.contains("CAP_CHOWN"))
        let privileged = try Self.spec(host: ["Privileged": .bool(true)])
        #expect(privileged.process?.capabilities?.bounding == Self.facts.capabilities)
        #expect(privileged.linux?.maskedPaths == [] && privileged.linux?.seccomp == nil)
        // dockerd's words for names no capability has.
        let unknownAdd = #expect(throws: EngineError.self) { try Self.spec(host: ["CapAdd": .array([.string("foo")])]) }
        #expect(unknownAdd?.message == #"invalid CapAdd: unknown capability: "CAP_FOO""#)
        let unknownDrop = #expect(throws: EngineError.self) { try Self.spec(host: ["CapDrop": .array([.string("CAP_BAR")])]) }
        #expect(unknownDrop?.message == #"invalid CapDrop: unknown capability: "CAP_BAR""#)
    }

    @Test("root, hostname, domain, annotations, shm size, the daemon's /etc files")
    func rootAndNames() throws {
        let spec = try Self.spec(config: ["Hostname": .string("box"), "Domainname": .string("example.org")],
                                 host: ["ReadonlyRootfs": .bool(true), "Annotations": .object(["k": .string("v")]), "ShmSize": .int(1 << 20)])
        #expect(spec.root?.path == "/rootfs" && spec.root?.readonly == true)
        #expect(spec.hostname == "box" && spec.domainname == "example.org" && spec.annotations?["k"] == "v")
        #expect(Self.mount(spec, "/dev/shm")?.options?.contains("size=1048576") == true)
        #expect(Self.mount(spec, "/etc/hosts")?.type == "bind")
        #expect(try Self.spec().hostname == "0123456789ab")
    }

    @Test("binds, --mount and --tmpfs; a shared bind makes the root rshared, a slave one rslave")
    func mounts() throws {
        let spec = try Self.spec(host: ["Binds": .array([.string("/src:/a:ro,rshared"), .string("/src2:/b")]),
                                        "Mounts": .array([.object(["Type": .string("tmpfs"), "Target": .string("/t"),
                                                                   "TmpfsOptions": .object(["SizeBytes": .int(4096)])]),
                                                          .object(["Type": .string("bind"), "Source": .string("/"), "Target": .string("/host"),
                                                                   "BindOptions": .object(["Propagation": .string("rslave")])])]),
                                        "Tmpfs": .object(["/run": .string("size=1m")])])
        #expect(Self.mount(spec, "/a")?.options == ["rbind", "ro", "rro", "rshared"], "read-only all the way down on Linux ≥ 5.12")
        #expect(Self.mount(spec, "/b")?.options == ["rbind", "rw", "rprivate"])
        #expect(Self.mount(spec, "/t")?.options?.contains("size=4096") == true)
        #expect(Self.mount(spec, "/host")?.options == ["rbind", "rw", "rslave"])
        #expect(Self.mount(spec, "/run")?.options?.contains("size=1m") == true)
        #expect(spec.linux?.rootfsPropagation == "rshared")
        let slave = try Self.spec(host: ["Binds": .array([.string("/src:/a:rslave")])])
        #expect(slave.linux?.rootfsPropagation == "rslave")
        #expect(try Self.spec().linux?.rootfsPropagation == nil)
    }

    @Test("namespaces: pid, ipc, uts and cgroup modes; network none, bridge and host")
    func namespaces() throws {
        let types = { (spec: RuntimeSpec) in Set(spec.linux?.namespaces?.map(\.type) ?? []) }
        #expect(try types(Self.spec()) == [.mount, .uts, .ipc, .pid, .cgroup, .network])
        #expect(try types(Self.spec(host: ["PidMode": .string("host"), "IpcMode": .string("host"), "UTSMode": .string("host"),
                                           "CgroupnsMode": .string("host"), "NetworkMode": .string("host")])) == [.mount])
        // A bridge container gets a namespace of its own (its veth comes between create and start).
        #expect(try types(Self.spec(host: ["NetworkMode": .string("bridge")])).contains(.network))
        // A user-defined network's container too; `container:X` joins X's namespace by path.
        #expect(try types(Self.spec(host: ["NetworkMode": .string("app")])).contains(.network))
        #expect(try Self.spec(host: ["NetworkMode": .string("container:0123")]).linux?.namespaces?.first { $0.type == .network }?.path == "/proc/self/ns/net")
    }

    @Test("joined IPC and PID namespaces, /dev/shm of each IPC mode, device nodes and rules, a remapped user namespace")
    func sharingDevicesAndRemap() throws {
        let joined = JoinedNamespaces(network: nil, ipc: "/proc/42/ns/ipc", pid: "/proc/42/ns/pid", shm: "/data/c/42/shm")
        let spec = try Self.spec(host: ["IpcMode": .string("container:donor"), "PidMode": .string("container:donor")], joined: joined)
        #expect(spec.linux?.namespaces?.first { $0.type == .ipc }?.path == "/proc/42/ns/ipc")
        #expect(spec.linux?.namespaces?.first { $0.type == .pid }?.path == "/proc/42/ns/pid")
        #expect(Self.mount(spec, "/dev/shm")?.source == "/data/c/42/shm" && Self.mount(spec, "/dev/shm")?.type == "bind")
        #expect(try Self.mount(Self.spec(host: ["IpcMode": .string("none")]), "/dev/shm") == nil)
        #expect(try Self.mount(Self.spec(host: ["IpcMode": .string("host")]), "/dev/shm")?.source == "/dev/shm")
        #expect(try Self.mount(Self.spec(), "/dev/shm")?.type == "tmpfs")

        var devices = HostDevices()
        devices.nodes = [.init(type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0)]
        devices.rules = [.init(allow: true, type: "c", major: 10, minor: 229, access: "rw")]
        devices.blockIO = .init(throttleReadBpsDevice: [.init(major: 8, minor: 0, rate: 1024)])
        let withDevices = try Self.spec(host: ["BlkioWeight": .int(300)], devices: devices)
        #expect(withDevices.linux?.devices?.map(\.path) == ["/dev/fuse"])
        #expect(withDevices.linux?.resources?.devices?.last == .init(allow: true, type: "c", major: 10, minor: 229, access: "rw"))
        #expect(withDevices.linux?.resources?.blockIO?.throttleReadBpsDevice?.first?.rate == 1024)
        #expect(withDevices.linux?.resources?.blockIO?.weight == 300)

        let remap = UserNamespaceRemap(user: "dockremap", group: "dockremap", shift: .init(uid: 100_000, gid: 200_000, uidSize: 65536, gidSize: 65536))
        let remapped = try Self.spec(remap: remap)
        #expect(remapped.linux?.namespaces?.first?.type == .user)
        #expect(remapped.linux?.uidMappings == [.init(containerID: 0, hostID: 100_000, size: 65536)])
        #expect(remapped.linux?.gidMappings == [.init(containerID: 0, hostID: 200_000, size: 65536)])
        let hostUserns = try Self.spec(host: ["UsernsMode": .string("host")], remap: remap)
        #expect(hostUserns.linux?.namespaces?.contains { $0.type == .user } == false && hostUserns.linux?.uidMappings == nil)
    }

    @Test("resources: memory, swap, swappiness, OOM killer, CPU shares, quota, NanoCpus, cpusets, realtime, pids, blkio; cgroup parent")
    func resources() throws {
        let spec = try Self.spec(host: ["Memory": .int(64 << 20), "MemoryReservation": .int(32 << 20), "MemorySwappiness": .int(10),
                                        "OomKillDisable": .bool(true), "CpuShares": .int(512), "NanoCpus": .int(1_500_000_000),
                                        "CpusetCpus": .string("0"), "CpusetMems": .string("0"), "CpuRealtimeRuntime": .int(1000),
                                        "PidsLimit": .int(50), "BlkioWeight": .int(300), "CgroupParent": .string("custom")])
        let resources = try #require(spec.linux?.resources)
        #expect(resources.memory?.limit == 64 << 20 && resources.memory?.swap == 128 << 20)
        #expect(resources.memory?.reservation == 32 << 20 && resources.memory?.swappiness == 10)
        #expect(resources.memory?.disableOOMKiller == true)
        #expect(resources.cpu?.shares == 512 && resources.cpu?.quota == 150_000 && resources.cpu?.period == 100_000)
        #expect(resources.cpu?.cpus == "0" && resources.cpu?.mems == "0" && resources.cpu?.realtimeRuntime == 1000)
        #expect(resources.pids?.limit == 50 && resources.blockIO?.weight == 300)
        #expect(spec.linux?.cgroupsPath == "/custom/0123456789abcdef0123")
        let swap = try Self.spec(host: ["Memory": .int(64 << 20), "MemorySwap": .int(-1)])
        #expect(swap.linux?.resources?.memory?.swap == -1)
        #expect(try Self.spec(host: ["MemorySwappiness": .int(-1)]).linux?.resources?.memory == nil)
    }

    @Test("masked and read-only paths, sysctls, seccomp unconfined")
    func security() throws {
        let defaults = try Self.spec()
        #expect(defaults.linux?.maskedPaths == DefaultPaths.masked && defaults.linux?.readonlyPaths == DefaultPaths.readonly)
        let spec = try Self.spec(host: ["MaskedPaths": .array([.string("/m")]), "ReadonlyPaths": .array([]),
                                        "Sysctls": .object(["net.ipv4.ip_forward": .string("1")]),
                                        "SecurityOpt": .array([.string("seccomp=unconfined")])])
        #expect(spec.linux?.maskedPaths == ["/m"] && spec.linux?.readonlyPaths == [])
        #expect(spec.linux?.sysctl == ["net.ipv4.ip_forward": "1"] && spec.linux?.seccomp == nil)
    }
}
