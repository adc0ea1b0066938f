import BerthAPITypes
import BerthOCI
import BerthRuntime
import BerthSystem
import Foundation

/// Facts about the host a spec depends on, read once (and given by tests).
struct HostFacts: Sendable {
    /// The capabilities berthd itself may grant: those of its bounding set (a host may withhold
    /// some, and asking for them would make the runtime's capset fail).
    var capabilities: [String]
    /// `uname -r`, for the seccomp profile's kernel-version conditions.
    var kernelRelease: String
    /// Whether read-only binds can be read-only all the way down (mount_setattr: Linux 5.12).
    var recursiveReadOnly: Bool {
        let parts = kernelRelease.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return parts.count == 2 && (parts[0], parts[1]) >= (5, 12)
    }

    static let current: HostFacts = {
        let known = Array(Capability.names.prefix(Capability.lastSupported + 1))
        var capabilities = known
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapBnd:") }),
           let mask = UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) {
            capabilities = known.enumerated().filter { mask & (1 << UInt64($0.offset)) != 0 }.map(\.element)
        }
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return HostFacts(capabilities: capabilities, kernelRelease: release)
    }()
}

/// The namespaces of other containers a container joins, as `/proc/PID/ns/…` paths.
struct JoinedNamespaces: Sendable {
    /// `--network container:X`.
    var network: String?
    /// `--ipc container:X`.
    var ipc: String?
    /// `--pid container:X`.
    var pid: String?
    /// The host directory bound on /dev/shm: a shareable container's own tmpfs, or the one of
    /// the container whose IPC namespace it joins.
    var shm: String?
}

/// Turns a container's `Config` and `HostConfig` and its image's config into the OCI bundle
/// `config.json` the runtime runs: Docker's defaults for mounts, capabilities, masked paths.
///
/// Pure: what it needs from the host and the image (the resolved user, the host's facts) comes
/// in, so every field's mapping is unit-tested; the I/O a start needs first (bind sources) is
/// `BindSpecification.prepareSources`.
struct SpecBuilder {
    let record: ContainerRecord
    let rootfs: String
    /// The container's user, resolved in its root filesystem (`UserResolver`).
    var user = RuntimeSpec.User()
    /// berth-init on the host, when the container runs under it (`--init`).
    var initBinary: String?
    /// The daemon's profile for containers that name none; `nil` when it is `unconfined`.
    var defaultSeccomp: DockerSeccompProfile?
    var facts = HostFacts.current
    /// Other containers' namespaces it joins (`--network`, `--ipc`, `--pid container:X`) and
    /// the /dev/shm it shares.
    var joined = JoinedNamespaces()
    /// Host device nodes and block devices its settings name (`HostDevices.resolve`).
    var devices = HostDevices()
    /// Where each `--mount type=image` has its image mounted on the host, by the mount's index.
    var imageRoots: [Int: String] = [:]
    /// The daemon's `userns-remap`: the container gets a user namespace mapped onto it, unless
    /// it asked for the host's (`--userns host`).
    var remap: UserNamespaceRemap?
    /// Where volumes keep their data (`DATA/volumes`): the container's volumes are binds of
    /// their `_data` (or a subpath of it).
    var volumesRoot = "/nonexistent"

    func build() throws -> RuntimeSpec {
        var spec = DefaultSpec.make()
        let config = record.config
        let host = record.hostConfig
        // The validator refused values of the wrong type at create; a record with one is damaged.
        if let field = (config.mistypedFields.map { "Config.\($0)" } + host.mistypedFields.map { "HostConfig.\($0)" }).first {
            throw EngineError(.badRequest, "\(field) of container \(record.name) has a value of the wrong type")
        }
        let privileged = host.privileged ?? false

        var process = spec.process!
        process.terminal = record.tty
        process.args = (initBinary == nil ? [] : [Self.initPath, "--"]) + [record.path] + record.args
        process.env = config.env ?? []
        process.cwd = config.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        process.user = user
        let security = try SecurityOptions(host.securityOpt ?? [])
        process.noNewPrivileges = security.noNewPrivileges
        let capabilities = try capabilitySet(add: host.capAdd ?? [], drop: host.capDrop ?? [], privileged: privileged)
        process.capabilities = .init(bounding: capabilities, effective: capabilities, permitted: capabilities)
        if let adjust = host.oomScoreAdj, adjust != 0 { process.oomScoreAdj = Int(adjust) }
        let limits = try rlimits(host.ulimits ?? [])
        process.rlimits = limits.isEmpty ? nil : limits
        if let size = host.consoleSize?.compactMap(UInt.init(exactly:)), size.count == 2, size[0] > 0 {
            process.consoleSize = .init(height: size[0], width: size[1])
        }
        spec.process = process

        spec.root = .init(path: rootfs, readonly: host.readonlyRootfs ?? false)
        spec.hostname = config.hostname.flatMap { $0.isEmpty ? nil : $0 } ?? String(record.id.prefix(12))
        if let annotations = host.annotations, !annotations.isEmpty {
            spec.annotations = (spec.annotations ?? [:]).merging(annotations) { _, given in given }
        }
        if let domain = config.domainname, !domain.isEmpty { spec.domainname = domain }

        var mounts = spec.mounts ?? []
        if let size = host.shmSize, size > 0, let index = mounts.firstIndex(where: { $0.destination == "/dev/shm" }) {
            mounts[index].options = ["nosuid", "noexec", "nodev", "mode=1777", "size=\(size)"]
        }
        // --ipc: none has no /dev/shm; host, shareable and container:X bind a host directory.
        if let index = mounts.firstIndex(where: { $0.destination == "/dev/shm" }) {
            if host.ipcMode == "none" {
                mounts.remove(at: index)
            } else if let shared = host.ipcMode == "host" ? "/dev/shm" : joined.shm {
                mounts[index] = .init(destination: "/dev/shm", type: "bind", source: shared, options: ["rbind", "nosuid", "noexec", "nodev", "rprivate"])
            }
        }
        for (destination, source) in [("/etc/hostname", record.hostnamePath), ("/etc/hosts", record.hostsPath),
                                      ("/etc/resolv.conf", record.resolvConfPath)] {
            mounts.append(.init(destination: destination, type: "bind", source: source, options: ["rbind", "rprivate"]))
        }
        if let initBinary {
            mounts.append(.init(destination: Self.initPath, type: "bind", source: initBinary, options: ["rbind", "ro", "rprivate"]))
        }
        // Shared and slave binds need a root that propagates (their sources: `prepareSources`).
        var rootPropagation: String?
        func propagate(_ wanted: String?) { if let wanted, rootPropagation != "rshared" { rootPropagation = wanted } }
        var requested: [RuntimeSpec.Mount] = []
        for bind in try Self.binds(host) where !bind.isVolume {
            propagate(bind.rootPropagation)
            requested.append(bind.mount(recursiveReadOnly: facts.recursiveReadOnly))
        }
        for (index, entry) in try Self.mountEntries(host).enumerated() where !entry.isVolume {
            propagate(entry.rootPropagation)
            requested.append(entry.mount(imageRoot: imageRoots[index]))
        }
        for volume in record.volumeMounts ?? [] {
            let source = "\(volumesRoot)/\(volume.name)/_data" + (volume.subpath.map { "/" + $0 } ?? "")
            requested.append(.init(destination: volume.destination, type: "bind", source: source, options: ["rbind", volume.readOnly ? "ro" : "rw", "rprivate"]))
        }
        for (destination, options) in (host.tmpfs ?? [:]).sorted(by: { $0.key < $1.key }) {
            let extra = options.split(separator: ",").map(String.init)
            requested.append(.init(destination: destination, type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "noexec"] + extra))
        }
        // Parents before what is mounted inside them (`-v data:/srv` with `-v /cfg:/srv/cfg`), as dockerd orders them.
        let depth = { (mount: RuntimeSpec.Mount) in mount.destination.split(separator: "/").count }
        spec.mounts = mounts + requested.enumerated().sorted { (depth($0.element), $0.offset) < (depth($1.element), $1.offset) }.map(\.element)

        var linux = spec.linux!
        linux.namespaces = try namespaces(host)
        if let remap, host.usernsMode != "host" {
            linux.uidMappings = remap.uidMappings
            linux.gidMappings = remap.gidMappings
        }
        linux.cgroupsPath = Self.cgroupsPath(record)
        if let rootPropagation { linux.rootfsPropagation = rootPropagation }
        var resources = Self.resources(host, privileged: privileged)
        resources.devices = (resources.devices ?? []) + devices.rules
        if var blockIO = devices.blockIO {
            blockIO.weight = resources.blockIO?.weight
            resources.blockIO = blockIO
        }
        linux.resources = resources
        if !devices.nodes.isEmpty { linux.devices = devices.nodes }
        linux.maskedPaths = privileged ? [] : host.maskedPaths ?? DefaultPaths.masked
        linux.readonlyPaths = privileged ? [] : host.readonlyPaths ?? DefaultPaths.readonly
        if let sysctls = host.sysctls { linux.sysctl = sysctls }
        linux.seccomp = privileged ? nil : seccomp(security, capabilities: capabilities)
        spec.linux = linux
        if privileged, let index = spec.mounts?.firstIndex(where: { $0.destination == "/sys" }) {
            spec.mounts?[index].options = ["nosuid", "noexec", "nodev", "rw"]
        }
        return spec
    }

    /// `--security-opt seccomp=unconfined|<profile JSON>` (the docker CLI sends a file's content), else the daemon's default.
    private func seccomp(_ security: SecurityOptions, capabilities: [String]) -> RuntimeSpec.Seccomp? {
        let profile: DockerSeccompProfile?
        switch security.seccomp {
        case nil: profile = defaultSeccomp
        case .unconfined?: profile = nil
        case let .profile(given)?: profile = given
        }
        return profile?.runtimeSpec(capabilities: Set(capabilities), kernelVersion: facts.kernelRelease)
    }

    /// Where the init is mounted in the container, as Docker mounts docker-init.
    static let initPath = "/sbin/docker-init"

    /// The container's cgroup: named by its ID, under `--cgroup-parent` or `/berth`.
    static func cgroupsPath(_ record: ContainerRecord) -> String {
        let parent = record.hostConfig.cgroupParent.flatMap { $0.isEmpty ? nil : $0 } ?? "/berth"
        return (parent.hasPrefix("/") ? parent : "/" + parent) + "/" + record.id
    }

    private func namespaces(_ host: HostConfig) throws -> [RuntimeSpec.Namespace] {
        var namespaces: [RuntimeSpec.Namespace] = [.init(type: .mount), .init(type: .uts)]
        if host.ipcMode != "host" { namespaces.append(.init(type: .ipc, path: joined.ipc)) }
        if host.pidMode != "host" { namespaces.append(.init(type: .pid, path: joined.pid)) }
        if (host.cgroupnsMode ?? "private") != "host" { namespaces.append(.init(type: .cgroup)) }
        switch record.networkMode {
        case "host":
            break
        case _ where record.networkMode.hasPrefix("container:"):
            namespaces.append(.init(type: .network, path: joined.network ?? "/proc/self/ns/net"))
        case _ where record.networkMode == "none" || record.connectsToNetwork:
            // A bridge container's namespace gets its veth between create and start.
            namespaces.append(.init(type: .network))
        default:
            throw EngineError(.badRequest, "network mode \"\(record.networkMode)\" is not supported yet: use --network none or --network host")
        }
        if host.utsMode == "host" { namespaces.removeAll { $0.type == .uts } }
        if remap != nil, host.usernsMode != "host" { namespaces.insert(.init(type: .user), at: 0) }
        return namespaces
    }

    /// `--cap-add`/`--cap-drop` names as the kernel knows them (`CAP_` added, `ALL` kept); an
    /// unknown one is refused with dockerd's words (at create, by the validator, too).
    static func capabilityNames(_ names: [String], field: String) throws -> [String] {
        try names.map { name in
            let upper = name.uppercased()
            let normalized = upper.hasPrefix("CAP_") || upper == "ALL" ? upper : "CAP_" + upper
            guard normalized == "ALL" || Capability.names.contains(normalized) else {
                throw EngineError(.badRequest, "invalid \(field): unknown capability: \"\(normalized)\"")
            }
            return normalized
        }
    }

    private func capabilitySet(add: [String], drop: [String], privileged: Bool) throws -> [String] {
        if privileged { return facts.capabilities }
        var set = ContainerDefaults.capabilities
        let added = try Self.capabilityNames(add, field: "CapAdd"), dropped = try Self.capabilityNames(drop, field: "CapDrop")
        for name in added where name != "ALL" && !facts.capabilities.contains(name) {
            throw EngineError(.badRequest, "capability \(name) is not available to berthd on this host (not in its bounding set)")
        }
        if dropped.contains("ALL") { set = [] } else { set.removeAll { dropped.contains($0) } }
        if added.contains("ALL") { set = facts.capabilities } else { set += added.filter { !set.contains($0) } }
        return set
    }

    private func rlimits(_ ulimits: [Ulimit]) throws -> [RuntimeSpec.Rlimit] {
        // None by default: the container inherits the daemon's limits, as with Docker.
        var limits: [String: RuntimeSpec.Rlimit] = [:]
        for entry in ulimits {
            guard let name = entry.name, let soft = entry.soft, let hard = entry.hard else {
                throw EngineError(.badRequest, "invalid ulimit: each needs Name, Soft and Hard")
            }
            let type = "RLIMIT_" + name.uppercased()
            limits[type] = .init(type: type, hard: UInt64(bitPattern: hard), soft: UInt64(bitPattern: soft))
        }
        return limits.values.sorted { $0.type < $1.type }
    }

    static func resources(_ host: HostConfig, privileged: Bool) -> RuntimeSpec.Resources {
        var resources = RuntimeSpec.Resources(devices: [.init(allow: privileged, access: "rwm")])
        let memory = host.memory ?? 0, swap = host.memorySwap ?? 0, reservation = host.memoryReservation ?? 0
        if memory > 0 || reservation > 0 {
            resources.memory = .init()
            if memory > 0 {
                // Docker's default swap is as much again as the memory (-1, unlimited, where that overflows).
                let doubled = memory.multipliedReportingOverflow(by: 2)
                resources.memory?.limit = memory
                resources.memory?.swap = swap != 0 ? swap : doubled.overflow ? -1 : doubled.partialValue
            }
            if reservation > 0 { resources.memory?.reservation = reservation }
        }
        // -1 (dockerd's "unset") and absent leave the kernel's default.
        if let swappiness = host.memorySwappiness, (0...100).contains(swappiness) {
            resources.memory = resources.memory ?? .init()
            resources.memory?.swappiness = UInt64(swappiness)
        }
        if host.oomKillDisable == true {
            resources.memory = resources.memory ?? .init()
            resources.memory?.disableOOMKiller = true
        }
        let shares = host.cpuShares ?? 0, nanoCPUs = host.nanoCpus ?? 0
        let quota = host.cpuQuota ?? 0, period = host.cpuPeriod ?? 0
        let cpus = host.cpusetCpus ?? "", mems = host.cpusetMems ?? ""
        let realtimePeriod = host.cpuRealtimePeriod ?? 0, realtimeRuntime = host.cpuRealtimeRuntime ?? 0
        if shares > 0 || nanoCPUs > 0 || quota > 0 || !cpus.isEmpty || !mems.isEmpty || realtimePeriod > 0 || realtimeRuntime > 0 {
            var cpu = RuntimeSpec.CPU()
            if realtimePeriod > 0 { cpu.realtimePeriod = UInt64(realtimePeriod) }
            if realtimeRuntime > 0 { cpu.realtimeRuntime = realtimeRuntime }
            if shares > 0 { cpu.shares = UInt64(shares) }
            if nanoCPUs > 0 { cpu.period = 100_000; cpu.quota = nanoCPUs / 10_000 }
            if quota > 0 { cpu.quota = quota; cpu.period = UInt64(period > 0 ? period : 100_000) }
            if !cpus.isEmpty { cpu.cpus = cpus }
            if !mems.isEmpty { cpu.mems = mems }
            resources.cpu = cpu
        }
        if let pids = host.pidsLimit, pids > 0 { resources.pids = .init(limit: pids) }
        if let weight = host.blkioWeight.flatMap(UInt16.init(exactly:)), weight > 0 { resources.blockIO = .init(weight: weight) }
        return resources
    }

    /// `HostConfig.Binds`, parsed.
    static func binds(_ host: HostConfig) throws -> [BindSpecification] {
        if host.unknownFields["Binds"] != nil { throw EngineError(.badRequest, "invalid HostConfig.Binds: a list of strings is expected") }
        return try (host.binds ?? []).map(BindSpecification.init)
    }

    /// `HostConfig.Mounts`, parsed.
    static func mountEntries(_ host: HostConfig) throws -> [MountSpecification] {
        if host.unknownFields["Mounts"] != nil { throw EngineError(.badRequest, "invalid mount config: a mount must be an object") }
        return try (host.mounts ?? []).map(MountSpecification.init)
    }
}
