import BerthSystem
import Foundation

/// Checks a client's `Config` and `HostConfig` before anything is stored: each known field has
/// the JSON type of its Go field in dockerd (so a string where an object belongs, or `1e30` for an
/// int64, is refused with Go's wording), numbers are in range, and resource limits pass dockerd's
/// checks. `create` and `update` both call it, so neither stores what `start` would refuse, and no
/// later conversion of a client's number can trap.
enum ConfigValidator {
    /// The JSON shape of a Go field. `null` is always accepted (Go leaves the zero value).
    enum Kind {
        case string, bool, int64, int32, uint16, uint64
        /// `[]string`.
        case strings
        /// `strslice.StrSlice`: a list of strings, or one string.
        case stringOrStrings
        /// `map[string]string`.
        case stringMap
        /// `[2]uint` (ConsoleSize).
        case uintPair
        /// Any object / any array: checked field by field elsewhere, or passed through.
        case object, array

        var goType: String {
            switch self {
            case .string: "string"
            case .bool: "bool"
            case .int64: "int64"
            case .int32: "int"
            case .uint16: "uint16"
            case .uint64: "uint64"
            case .strings: "[]string"
            case .stringOrStrings: "strslice.StrSlice"
            case .stringMap: "map[string]string"
            case .uintPair: "[2]uint"
            case .object: "struct"
            case .array: "[]struct"
            }
        }
    }

    static let configFields: [String: Kind] = [
        "Hostname": .string, "Domainname": .string, "User": .string, "AttachStdin": .bool, "AttachStdout": .bool,
        "AttachStderr": .bool, "ExposedPorts": .object, "Tty": .bool, "OpenStdin": .bool, "StdinOnce": .bool,
        "Env": .strings, "Cmd": .stringOrStrings, "Healthcheck": .object, "ArgsEscaped": .bool, "Image": .string,
        "Volumes": .object, "WorkingDir": .string, "Entrypoint": .stringOrStrings, "NetworkDisabled": .bool,
        "MacAddress": .string, "OnBuild": .strings, "Labels": .stringMap, "StopSignal": .string, "StopTimeout": .int32,
        "Shell": .strings,
    ]

    /// `HostConfig`, `Resources` included (dockerd embeds it).
    static let hostConfigFields: [String: Kind] = [
        "Binds": .strings, "ContainerIDFile": .string, "LogConfig": .object, "NetworkMode": .string, "PortBindings": .object,
        "RestartPolicy": .object, "AutoRemove": .bool, "VolumeDriver": .string, "VolumesFrom": .strings,
        "ConsoleSize": .uintPair, "Annotations": .stringMap, "CapAdd": .stringOrStrings, "CapDrop": .stringOrStrings,
        "CgroupnsMode": .string, "Dns": .strings, "DnsOptions": .strings, "DnsSearch": .strings, "ExtraHosts": .strings,
        "GroupAdd": .strings, "IpcMode": .string, "Cgroup": .string, "Links": .strings, "OomScoreAdj": .int32,
        "PidMode": .string, "Privileged": .bool, "PublishAllPorts": .bool, "ReadonlyRootfs": .bool,
        "SecurityOpt": .strings, "StorageOpt": .stringMap, "Tmpfs": .stringMap, "UTSMode": .string, "UsernsMode": .string,
        "ShmSize": .int64, "Sysctls": .stringMap, "Runtime": .string, "Isolation": .string, "MaskedPaths": .strings,
        "ReadonlyPaths": .strings, "Init": .bool, "Mounts": .array,
        "CpuShares": .int64, "Memory": .int64, "NanoCpus": .int64, "CgroupParent": .string, "BlkioWeight": .uint16,
        "BlkioWeightDevice": .array, "BlkioDeviceReadBps": .array, "BlkioDeviceWriteBps": .array,
        "BlkioDeviceReadIOps": .array, "BlkioDeviceWriteIOps": .array, "CpuPeriod": .int64, "CpuQuota": .int64,
        "CpuRealtimePeriod": .int64, "CpuRealtimeRuntime": .int64, "CpusetCpus": .string, "CpusetMems": .string,
        "Devices": .array, "DeviceCgroupRules": .strings, "DeviceRequests": .array, "KernelMemory": .int64,
        "KernelMemoryTCP": .int64, "MemoryReservation": .int64, "MemorySwap": .int64, "MemorySwappiness": .int64,
        "OomKillDisable": .bool, "PidsLimit": .int64, "Ulimits": .array, "CpuCount": .int64, "CpuPercent": .int64,
        "IOMaximumIOps": .uint64, "IOMaximumBandwidth": .uint64,
    ]

    static let restartPolicyFields: [String: Kind] = ["Name": .string, "MaximumRetryCount": .int32]
    static let logConfigFields: [String: Kind] = ["Type": .string, "Config": .stringMap]
    static let ulimitFields: [String: Kind] = ["Name": .string, "Soft": .int64, "Hard": .int64]
    static let healthcheckFields: [String: Kind] = ["Test": .strings, "Interval": .int64, "Timeout": .int64,
                                                    "StartPeriod": .int64, "StartInterval": .int64, "Retries": .int32]

    /// HostConfig fields Berth does not implement yet: refused when set, never dropped (a dropped
    /// mount or device silently loses what the user asked for).
    static let unsupportedHostFields: [String: String] = [
        "StorageOpt": "--storage-opt is not supported by Berth",
        "VolumeDriver": "volume drivers are not supported by Berth yet",
        "Cgroup": "joining another container's cgroup (--cgroup) is not supported by Berth yet",
        "CpuCount": "CPU count is a Windows-only setting",
        "CpuPercent": "CPU percent is a Windows-only setting",
        "IOMaximumIOps": "maximum IOPS is a Windows-only setting",
        "IOMaximumBandwidth": "maximum I/O bandwidth is a Windows-only setting",
    ]

    // MARK: Entry points

    /// A `POST /containers/create` body: the container's `Config` with `HostConfig` inside.
    static func validateCreate(_ body: JSONValue) throws {
        guard let fields = body.object else { throw typeError(body, "CreateRequest", "container.CreateRequest") }
        try checkFields(fields, configFields, owner: "CreateRequest")
        if let health = fields["Healthcheck"]?.object { try validateHealthcheck(health) }
        if let host = fields["HostConfig"], !host.isNull {
            guard let object = host.object else { throw typeError(host, "CreateRequest.HostConfig", "container.HostConfig") }
            try validateHostConfig(object)
            if object["UTSMode"]?.string == "host", let name = fields["Hostname"]?.string, !name.isEmpty {
                throw EngineError(.badRequest, "conflicting options: hostname and the UTS mode")
            }
            for (key, message) in unsupportedHostFields.sorted(by: { $0.key < $1.key }) where isSet(object[key]) {
                throw EngineError(.badRequest, "\(message) (HostConfig.\(key))")
            }
            _ = try mountDestinations(host)
            let typed = HostConfig(json: host)
            if let request = typed.deviceRequests?.first { throw noDeviceDriver(request) }
            _ = try HostDevices.resolve(typed, privileged: false)
            _ = try SecurityOptions(typed.securityOpt ?? [])
            _ = try SpecBuilder.capabilityNames(typed.capAdd ?? [], field: "CapAdd")
            _ = try SpecBuilder.capabilityNames(typed.capDrop ?? [], field: "CapDrop")
            try validateSysctls(typed)
            _ = try EtcFiles.hosts("", extraHosts: host["ExtraHosts"]?.strings ?? [], hostGateway: "0.0.0.0")
        }
        if let networking = fields["NetworkingConfig"], !networking.isNull, networking.object == nil {
            throw typeError(networking, "CreateRequest.NetworkingConfig", "network.NetworkingConfig")
        }
        if let networking = fields["NetworkingConfig"] { try refuseEndpointSettings(NetworkingConfig(json: networking)) }
    }

    /// `--gpus` and other device requests need a device driver (NVIDIA's container toolkit);
    /// Berth has none, and answers as dockerd does on a host without one.
    private static func noDeviceDriver(_ request: DeviceRequest) -> EngineError {
        let sets = (request.capabilities?.array ?? []).map { "[" + ($0.array ?? []).compactMap(\.string).joined(separator: " ") + "]" }
        return EngineError(.badRequest, "could not select device driver \"\(request.driver ?? "")\" with capabilities: [\(sets.joined(separator: " "))]")
    }

    /// Endpoint settings Berth does not have yet (link-local addresses, driver options) are
    /// refused by name, not dropped; aliases, static IPv4 and IPv6 addresses, a MAC address,
    /// links and a gateway priority are honoured (checked against the network at create).
    private static func refuseEndpointSettings(_ networking: NetworkingConfig) throws {
        for (network, endpoint) in (networking.endpointsConfig ?? [:]).sorted(by: { $0.key < $1.key }) {
            try refuseEndpointSettings(endpoint, network: network, field: "NetworkingConfig.EndpointsConfig.\(network)")
        }
    }

    /// One endpoint's settings (of a create, or of a `network connect`).
    static func refuseEndpointSettings(_ endpoint: EndpointSettings, network: String, field: String) throws {
        let ipam = endpoint.ipamConfig
        let settings: [(String, Bool)] = [
            ("IPAMConfig.LinkLocalIPs", !(ipam?.linkLocalIPs ?? []).isEmpty),
            ("DriverOpts", !(endpoint.driverOpts ?? [:]).isEmpty),
        ]
        if let (name, _) = settings.first(where: { $0.1 }) {
            throw EngineError(.badRequest, "network settings are not supported by Berth yet (\(field).\(name))")
        }
    }

    /// Binds, Mounts and Tmpfs: each readable, each destination once (dockerd: "Duplicate mount
    /// point"). Returns the destinations.
    private static func mountDestinations(_ host: JSONValue) throws -> Set<String> {
        let typed = HostConfig(json: host)
        let destinations = try SpecBuilder.binds(typed).map(\.destination) + SpecBuilder.mountEntries(typed).map(\.target)
            + (host["Tmpfs"]?.object ?? [:]).keys.sorted()
        var seen = Set<String>()
        for destination in destinations {
            // A mount over the whole root would hide it (and the files the daemon mounts into it).
            if cleanPath(destination) == "/" {
                throw EngineError(.badRequest, "invalid mount config: invalid specification: destination can't be '/'")
            }
            guard seen.insert(cleanPath(destination)).inserted else { throw EngineError(.badRequest, "Duplicate mount point: \(cleanPath(destination))") }
        }
        return seen
    }

    private static func cleanPath(_ path: String) -> String { "/" + path.split(separator: "/").joined(separator: "/") }

    /// A `POST /containers/{id}/update` body: `Resources` and `RestartPolicy`.
    static func validateUpdate(_ body: JSONValue) throws {
        guard let fields = body.object else { throw typeError(body, "UpdateConfig", "container.UpdateConfig") }
        try validateHostConfig(fields, updating: true)
    }

    /// Limits this host cannot apply, dropped with a warning the client shows, as dockerd does
    /// (`WARNING: Your kernel does not support …`); never dropped silently. CPU shares beyond
    /// the kernel's range are brought into it (2 to 262144), as dockerd does.
    static func adaptToHost(_ host: inout HostConfig) -> [String] {
        var warnings: [String] = []
        if let shares = host.cpuShares, shares != 0 {
            host.cpuShares = min(max(shares, 2), 262_144)
        }
        // dockerd drops kernel memory limits (deprecated in the kernel) with these warnings.
        if (host.unknownFields["KernelMemory"]?.int ?? 0) != 0 {
            host.unknownFields["KernelMemory"] = .int(0)
            warnings.append("Specifying a kernel memory limit is deprecated and will be removed in a future release.")
        }
        if (host.kernelMemoryTCP ?? 0) != 0 {
            host.kernelMemoryTCP = 0
            warnings.append("Your kernel does not support kernel memory TCP limit or the cgroup is not mounted. Limitation discarded.")
        }
        if host.oomKillDisable == true, LimitSupport.unified {
            host.oomKillDisable = false
            warnings.append("Your kernel does not support OomKillDisable. OomKillDisable discarded.")
        }
        if (host.memory ?? 0) > 0, host.memorySwap != -1, !LimitSupport.swapLimitSupported {
            host.memorySwap = -1
            warnings.append("Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.")
        }
        if let swappiness = host.memorySwappiness, swappiness != -1, LimitSupport.unified {
            host.memorySwappiness = nil
            warnings.append("Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.")
        }
        if (host.cpuRealtimePeriod ?? 0) > 0, !LimitSupport.realtimeSupported {
            host.cpuRealtimePeriod = 0
            warnings.append("Your kernel does not support CPU real-time scheduler. CPU real-time period discarded.")
        }
        if (host.cpuRealtimeRuntime ?? 0) > 0, !LimitSupport.realtimeSupported {
            host.cpuRealtimeRuntime = 0
            warnings.append("Your kernel does not support CPU real-time scheduler. CPU real-time runtime discarded.")
        }
        if (host.blkioWeight ?? 0) > 0, !LimitSupport.blkioWeightSupported {
            host.blkioWeight = 0
            warnings.append("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.")
        }
        return warnings
    }

    // MARK: Checks

    private static func validateHostConfig(_ host: [String: JSONValue], updating: Bool = false) throws {
        try checkFields(host, hostConfigFields, owner: "HostConfig")
        if let isolation = host["Isolation"]?.string, !["", "default"].contains(isolation) {
            throw EngineError(.badRequest, "invalid isolation: \(isolation) on linux")
        }
        try validateNamespaceModes(host)
        if let mode = host["UsernsMode"]?.string, !["", "host"].contains(mode) {
            throw EngineError(.badRequest, "user namespace remapping (--userns \(mode)) is not supported by Berth yet (HostConfig.UsernsMode)")
        }
        if let swappiness = host["MemorySwappiness"]?.int, swappiness != -1, !(0...100).contains(swappiness) {
            throw EngineError(.badRequest, "Invalid value: \(swappiness), valid memory swappiness range is 0-100")
        }
        if let policy = host["RestartPolicy"]?.object {
            try checkFields(policy, restartPolicyFields, owner: "RestartPolicy")
            try validateRestartPolicy(name: policy["Name"]?.string ?? "", retries: policy["MaximumRetryCount"]?.int ?? 0)
        }
        if let log = host["LogConfig"]?.object { try checkFields(log, logConfigFields, owner: "LogConfig") }
        for entry in host["Ulimits"]?.array ?? [] {
            guard let ulimit = entry.object else { throw typeError(entry, "HostConfig.Ulimits", "units.Ulimit") }
            try checkFields(ulimit, ulimitFields, owner: "Ulimit")
            try validateUlimit(name: ulimit["Name"]?.string ?? "", soft: ulimit["Soft"]?.int ?? 0, hard: ulimit["Hard"]?.int ?? 0)
        }
        try validateResources(host, updating: updating)
    }

    /// The IPC sysctls a container's own IPC namespace has (besides `fs.mqueue.*`).
    static let ipcSysctls: Set<String> = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                                          "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"]

    /// `--sysctl`: only what lives in one of the container's own namespaces (IPC, network),
    /// as dockerd and runc allow; a sysctl of the host's (or of a namespace shared with the
    /// host) would change the host for every process.
    static func validateSysctls(_ host: HostConfig) throws {
        for key in (host.sysctls ?? [:]).keys.sorted() {
            let ipc = ipcSysctls.contains(key) || key.hasPrefix("fs.mqueue.")
            let network = key.hasPrefix("net.")
            guard ipc || network else {
                throw EngineError(.badRequest, "sysctl \"\(key)\" is not allowed: it is not in a namespace of the container's own (IPC: kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*; network: net.*)")
            }
            if ipc, host.ipcMode == "host" { throw EngineError(.badRequest, "sysctl \"\(key)\" is not allowed with --ipc host: it would change the host's") }
            if network, host.networkMode == "host" {
                throw EngineError(.badRequest, "sysctl \"\(key)\" is not allowed with --network host: it would change the host's")
            }
        }
    }

    /// Under `userns-remap`: what would give a remapped container the host's privileges or
    /// namespaces, refused unless it runs in the host's user namespace (`--userns host`), with dockerd's words.
    static func validateRemapped(_ host: HostConfig) throws {
        guard host.usernsMode != "host" else { return }
        if host.privileged == true {
            throw EngineError(.badRequest, "privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode")
        }
        if host.networkMode == "host" { throw EngineError(.badRequest, "cannot share the host's network namespace when user namespaces are enabled") }
        if host.pidMode == "host" { throw EngineError(.badRequest, "cannot share the host PID namespace when user namespaces are enabled") }
    }

    /// `--ipc`, `--pid`, `--uts`, `--cgroupns`: the modes dockerd knows, with its words.
    private static func validateNamespaceModes(_ host: [String: JSONValue]) throws {
        func container(_ mode: String) -> Bool { mode.hasPrefix("container:") && mode.count > 10 }
        if let mode = host["IpcMode"]?.string, !["", "private", "shareable", "host", "none"].contains(mode), !container(mode) {
            throw EngineError(.badRequest, "invalid IPC mode: \(mode)")
        }
        if let mode = host["PidMode"]?.string, !["", "host"].contains(mode), !container(mode) {
            throw EngineError(.badRequest, "invalid PID mode: \(mode)")
        }
        if let mode = host["UTSMode"]?.string, !["", "host"].contains(mode) {
            throw EngineError(.badRequest, "invalid UTS mode: \(mode)")
        }
        if let mode = host["CgroupnsMode"]?.string, !["", "private", "host"].contains(mode) {
            throw EngineError(.badRequest, "invalid cgroup namespace mode: \(mode)")
        }
    }

    /// dockerd's resource checks (daemon/daemon_unix.go, verifyPlatformContainerResources), same wording.
    /// `updating`: an update's limits as they will be (a swap limit may stay without a memory one).
    static func validateResources(_ host: [String: JSONValue], updating: Bool = false) throws {
        func value(_ key: String) -> Int64 { host[key]?.int ?? 0 }
        let minimum: Int64 = 6 * 1024 * 1024
        let memory = value("Memory"), swap = value("MemorySwap"), reservation = value("MemoryReservation")
        if memory != 0 && memory < minimum { throw EngineError(.badRequest, "Minimum memory limit allowed is 6MB") }
        if memory == 0 && swap > 0 && !updating {
            throw EngineError(.badRequest, "You should always set the Memory limit when using Memoryswap limit, see usage")
        }
        if memory > 0 && swap > 0 && swap < memory {
            throw EngineError(.badRequest, "Minimum memoryswap limit should be larger than memory limit, see usage")
        }
        if let swappiness = host["MemorySwappiness"]?.int, swappiness != -1, !(0...100).contains(swappiness) {
            throw EngineError(.badRequest, "Invalid value: \(swappiness), valid memory swappiness range is 0-100")
        }
        if reservation != 0 && reservation < minimum { throw EngineError(.badRequest, "Minimum memory reservation allowed is 6MB") }
        if memory > 0 && reservation > 0 && memory < reservation {
            throw EngineError(.badRequest, "Minimum memory limit can not be less than memory reservation limit, see usage")
        }
        let nanoCPUs = value("NanoCpus"), period = value("CpuPeriod"), quota = value("CpuQuota")
        if nanoCPUs > 0 && period > 0 { throw EngineError(.badRequest, "Conflicting options: Nano CPUs and CPU Period cannot both be set") }
        if nanoCPUs > 0 && quota > 0 { throw EngineError(.badRequest, "Conflicting options: Nano CPUs and CPU Quota cannot both be set") }
        let cpus = Int64(ProcessInfo.processInfo.activeProcessorCount)
        // dockerd's range: a hundredth of a CPU at least (a smaller share is a CFS quota the kernel refuses).
        if nanoCPUs < 0 || (nanoCPUs > 0 && nanoCPUs < 10_000_000) || nanoCPUs > cpus * 1_000_000_000 {
            throw EngineError(.badRequest, "Range of CPUs is from 0.01 to \(cpus).00, as there are only \(cpus) CPUs available")
        }
        if period != 0 && !(1000...1_000_000).contains(period) {
            throw EngineError(.badRequest, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
        }
        if quota > 0 && quota < 1000 { throw EngineError(.badRequest, "CPU cfs quota can not be less than 1ms (i.e. 1000)") }
        // The kernel's ceiling (2^44 - 1 µs): a larger quota is refused by cpu.cfs_quota_us / cpu.max.
        if quota > 17_592_186_044_415 {
            throw EngineError(.badRequest, "CPU cfs quota can not be more than 17592186044415 (the kernel's limit), or use -1 for no limit")
        }
        let realtimePeriod = value("CpuRealtimePeriod"), realtimeRuntime = value("CpuRealtimeRuntime")
        if realtimePeriod != 0 && realtimeRuntime != 0 && realtimeRuntime > realtimePeriod {
            throw EngineError(.badRequest, "cpu real-time runtime cannot be higher than cpu real-time period")
        }
        // A container's real-time time comes out of its parent cgroup's, which is 0 unless the
        // daemon gives it some (dockerd's cpu-rt-runtime option; the kernel refuses otherwise).
        if realtimeRuntime > 0 && LimitSupport.realtimeSupported {
            throw EngineError(.badRequest, "--cpu-rt-runtime is not supported by Berth yet: its cgroup parent has no real-time CPU time to give (dockerd's cpu-rt-runtime daemon option) (HostConfig.CpuRealtimeRuntime)")
        }
        // The kernel takes -1 (no limit) and nothing else below zero.
        if quota < -1 { throw EngineError(.badRequest, "invalid CPU cfs quota \(quota): use -1 or 0 for no limit, or at least 1000") }
        if value("CpuShares") < 0 { throw EngineError(.badRequest, "invalid CPU shares: \(value("CpuShares")): must not be negative") }
        let weight = value("BlkioWeight")
        if weight > 0 && !(10...1000).contains(weight) { throw EngineError(.badRequest, "Range of blkio weight is from 10 to 1000") }
        let adjust = value("OomScoreAdj")
        if !(-1000...1000).contains(adjust) {
            throw EngineError(.badRequest, "Invalid value \(adjust), range for oom score adj is [-1000, 1000]")
        }
        if value("ShmSize") < 0 { throw EngineError(.badRequest, "SHM size can not be less than 0") }
        // The kernel's PID_MAX_LIMIT: pids.max refuses more.
        if value("PidsLimit") > 4_194_304 {
            throw EngineError(.badRequest, "invalid PIDs limit \(value("PidsLimit")): the kernel allows at most 4194304 (-1 or 0 for no limit)")
        }
        try validateCpuset(host["CpusetCpus"]?.string, what: "cpuset cpus", online: "/sys/devices/system/cpu/online",
                           unavailable: "Requested CPUs are not available")
        try validateCpuset(host["CpusetMems"]?.string, what: "cpuset mems", online: "/sys/devices/system/node/online",
                           unavailable: "Requested memory nodes are not available")
    }

    /// `0-3,5`: the syntax, and that the host has each CPU (or memory node), as dockerd checks.
    private static func validateCpuset(_ text: String?, what: String, online: String, unavailable: String) throws {
        guard let text, !text.isEmpty else { return }
        guard let requested = CPUList.parse(text) else { throw EngineError(.badRequest, "Invalid value \(text) for \(what)") }
        let available = (try? String(contentsOfFile: online, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "0"
        if let present = CPUList.parse(available), !requested.isSubset(of: present) {
            throw EngineError(.badRequest, "\(unavailable) - requested \(text), available: \(available)")
        }
    }

    /// The numbers of a Linux list (`0-3,5`); nil when malformed. Bounded: no host has more than
    /// a few thousand CPUs, and a client's `0-99999999` must not build a huge set.
    static func validateRestartPolicy(name: String, retries: Int64) throws {
        guard ["", "no", "always", "unless-stopped", "on-failure"].contains(name) else {
            throw EngineError(.badRequest, "invalid restart policy: unknown policy '\(name)'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'")
        }
        if retries < 0 { throw EngineError(.badRequest, "invalid restart policy: maximum retry count can not be negative") }
        if retries > 0 && name != "on-failure" {
            throw EngineError(.badRequest, "invalid restart policy: maximum retry count can only be used with 'on-failure'")
        }
    }

    /// The names `ulimit` knows (RLIMIT_*, lower case, without the prefix).
    static let ulimitNames: Set<String> = ["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
                                           "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack", "as"]

    private static func validateUlimit(name: String, soft: Int64, hard: Int64) throws {
        guard ulimitNames.contains(name.lowercased()) else { throw EngineError(.badRequest, "invalid ulimit type: \(name)") }
        // -1 is "unlimited" to the kernel.
        if hard != -1 && (soft == -1 || soft > hard) {
            throw EngineError(.badRequest, "ulimit soft limit must be less than or equal to hard limit: \(soft) > \(hard)")
        }
    }

    private static func validateHealthcheck(_ health: [String: JSONValue]) throws {
        try checkFields(health, healthcheckFields, owner: "HealthConfig")
        for key in ["Interval", "Timeout", "StartPeriod", "StartInterval"] {
            if let value = health[key]?.int, value != 0, value < 1_000_000 {
                throw EngineError(.badRequest, "\(key) in Healthcheck cannot be less than 1ms")
            }
        }
        if let retries = health["Retries"]?.int, retries < 0 { throw EngineError(.badRequest, "Retries in Healthcheck cannot be negative") }
    }

    // MARK: Types

    private static func checkFields(_ fields: [String: JSONValue], _ kinds: [String: Kind], owner: String) throws {
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            guard let kind = kinds[key] else { continue }
            try check(value, kind, field: "\(owner).\(key)")
        }
    }

    private static func check(_ value: JSONValue, _ kind: Kind, field: String) throws {
        if value.isNull { return }
        let fits: Bool
        switch kind {
        case .string: fits = value.string != nil
        case .bool: fits = value.bool != nil
        case .int64: fits = value.int != nil
        case .int32: fits = value.int.map { Int32(exactly: $0) != nil } ?? false
        case .uint16: fits = value.int.map { UInt16(exactly: $0) != nil } ?? false
        case .uint64: fits = value.int.map { $0 >= 0 } ?? false
        case .strings: fits = value.array?.allSatisfy { $0.string != nil || $0.isNull } ?? false
        case .stringOrStrings: fits = value.string != nil || (value.array?.allSatisfy { $0.string != nil } ?? false)
        case .stringMap: fits = value.object?.values.allSatisfy { $0.string != nil || $0.isNull } ?? false
        case .uintPair: fits = value.array.map { $0.count == 2 && $0.allSatisfy { ($0.int ?? -1) >= 0 } } ?? false
        case .object: fits = value.object != nil
        case .array: fits = value.array != nil
        }
        if !fits { throw typeError(value, field, kind.goType) }
    }

    /// Go's encoding/json message, which clients and scripts already know.
    private static func typeError(_ value: JSONValue, _ field: String, _ goType: String) -> EngineError {
        let shown: String
        switch value {
        case .null: shown = "null"
        case .bool: shown = "bool"
        case let .int(number): shown = "number \(number)"
        case let .double(number): shown = "number \(number)"
        case .string: shown = "string"
        case .array: shown = "array"
        case .object: shown = "object"
        }
        return EngineError(.badRequest, "json: cannot unmarshal \(shown) into Go struct field \(field) of type \(goType)")
    }

    /// Whether a client set a field: present, not null, not an empty list or object.
    static func isSet(_ value: JSONValue?) -> Bool {
        switch value {
        case nil, .null?: return false
        case let .array(items)?: return !items.isEmpty
        case let .object(fields)?: return !fields.isEmpty
        case let .string(text)?: return !text.isEmpty
        case let .bool(flag)?: return flag
        default: return value?.int.map { $0 != 0 } ?? true
        }
    }
}
