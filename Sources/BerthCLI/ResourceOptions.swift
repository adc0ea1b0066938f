import ArgumentParser
import BerthAPITypes
import Foundation

/// `run`/`create` flags for limits, devices, namespaces, identity, DNS and health checks, with
/// docker's names, value forms and refusals (`invalid argument "X" for "--flag" flag: …`, exit 125).
struct ResourceOptions: ParsableArguments {
    @Option(name: [.short, .customLong("memory")], help: "Memory limit") var memory: String?
    @Option(name: .customLong("memory-swap"), help: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap") var memorySwap: String?
    @Option(name: .customLong("memory-reservation"), help: "Memory soft limit") var memoryReservation: String?
    @Option(name: .customLong("memory-swappiness"), help: "Tune container memory swappiness (0 to 100)") var memorySwappiness: Int?
    @Option(name: .customLong("kernel-memory"), help: "Kernel memory limit (deprecated)") var kernelMemory: String?
    @Flag(name: .customLong("oom-kill-disable"), help: "Disable OOM Killer") var oomKillDisable = false
    @Option(name: .customLong("oom-score-adj"), help: "Tune host's OOM preferences (-1000 to 1000)") var oomScoreAdj: Int?
    @Option(help: "Number of CPUs") var cpus: Double?
    @Option(name: [.customShort("c"), .customLong("cpu-shares")], help: "CPU shares (relative weight)") var cpuShares: Int?
    @Option(name: .customLong("cpu-period"), help: "Limit CPU CFS (Completely Fair Scheduler) period") var cpuPeriod: Int?
    @Option(name: .customLong("cpu-quota"), help: "Limit CPU CFS (Completely Fair Scheduler) quota") var cpuQuota: Int?
    @Option(name: .customLong("cpu-rt-period"), help: "Limit CPU real-time period in microseconds") var cpuRtPeriod: Int?
    @Option(name: .customLong("cpu-rt-runtime"), help: "Limit CPU real-time runtime in microseconds") var cpuRtRuntime: Int?
    @Option(name: .customLong("cpuset-cpus"), help: "CPUs in which to allow execution (0-3, 0,1)") var cpusetCpus: String?
    @Option(name: .customLong("cpuset-mems"), help: "MEMs in which to allow execution (0-3, 0,1)") var cpusetMems: String?
    @Option(name: .customLong("pids-limit"), help: "Tune container pids limit (set -1 for unlimited)") var pidsLimit: Int?
    @Option(name: .customLong("blkio-weight"), help: "Block IO (relative weight), between 10 and 1000, or 0 to disable") var blkioWeight: Int?
    @Option(name: .customLong("blkio-weight-device"), help: "Block IO weight (relative device weight)") var blkioWeightDevice: [String] = []
    @Option(name: .customLong("device-read-bps"), help: "Limit read rate (bytes per second) from a device") var deviceReadBps: [String] = []
    @Option(name: .customLong("device-write-bps"), help: "Limit write rate (bytes per second) to a device") var deviceWriteBps: [String] = []
    @Option(name: .customLong("device-read-iops"), help: "Limit read rate (IO per second) from a device") var deviceReadIops: [String] = []
    @Option(name: .customLong("device-write-iops"), help: "Limit write rate (IO per second) to a device") var deviceWriteIops: [String] = []
    @Option(help: "Ulimit options (name=soft[:hard])") var ulimit: [String] = []
    @Option(name: .customLong("shm-size"), help: "Size of /dev/shm") var shmSize: String?
    @Option(help: "Add a host device to the container (host[:container][:permissions])") var device: [String] = []
    @Option(name: .customLong("device-cgroup-rule"), help: "Add a rule to the cgroup allowed devices list") var deviceCgroupRule: [String] = []
    @Option(help: "GPU devices to add to the container ('all' to pass all GPUs)") var gpus: String?
    @Option(help: "IPC mode to use") var ipc: String?
    @Option(help: "PID namespace to use") var pid: String?
    @Option(help: "UTS namespace to use") var uts: String?
    @Option(help: "Cgroup namespace to use (host|private)") var cgroupns: String?
    @Option(name: .customLong("cgroup-parent"), help: "Optional parent cgroup for the container") var cgroupParent: String?
    @Option(help: "User namespace to use") var userns: String?
    @Option(name: .customLong("group-add"), help: "Add additional groups to join") var groupAdd: [String] = []
    @Option(help: "Sysctl options") var sysctl: [String] = []
    @Option(name: .customLong("add-host"), help: "Add a custom host-to-IP mapping (host:ip)") var addHost: [String] = []
    @Option(help: "Set custom DNS servers") var dns: [String] = []
    @Option(name: .customLong("dns-search"), help: "Set custom DNS search domains") var dnsSearch: [String] = []
    @Option(name: .customLong("dns-option"), help: "Set DNS options") var dnsOption: [String] = []
    @Option(help: "Container NIS domain name") var domainname: String?
    @Option(name: .customLong("health-cmd"), help: "Command to run to check health") var healthCmd: String?
    @Option(name: .customLong("health-interval"), help: "Time between running the check (ms|s|m|h)") var healthInterval: String?
    @Option(name: .customLong("health-timeout"), help: "Maximum time to allow one check to run (ms|s|m|h)") var healthTimeout: String?
    @Option(name: .customLong("health-retries"), help: "Consecutive failures needed to report unhealthy") var healthRetries: Int?
    @Option(name: .customLong("health-start-period"), help: "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)") var healthStartPeriod: String?
    @Option(name: .customLong("health-start-interval"), help: "Time between running the check during the start period (ms|s|m|h)") var healthStartInterval: String?
    @Flag(name: .customLong("no-healthcheck"), help: "Disable any container-specified HEALTHCHECK") var noHealthcheck = false

    /// Adds what was given to the create body's `Config` and `HostConfig`.
    func apply(config: inout [String: JSONValue], host: inout [String: JSONValue]) throws {
        host["Memory"] = try Self.size(memory, flag: "-m, --memory")
        host["MemorySwap"] = try Self.size(memorySwap, flag: "--memory-swap", unlimited: true)
        host["MemoryReservation"] = try Self.size(memoryReservation, flag: "--memory-reservation")
        host["KernelMemory"] = try Self.size(kernelMemory, flag: "--kernel-memory")
        host["ShmSize"] = try Self.size(shmSize, flag: "--shm-size")
        if let memorySwappiness { host["MemorySwappiness"] = .int(Int64(memorySwappiness)) }
        if oomKillDisable { host["OomKillDisable"] = .bool(true) }
        if let oomScoreAdj { host["OomScoreAdj"] = .int(Int64(oomScoreAdj)) }
        if let cpus { host["NanoCpus"] = .int(Int64((cpus * 1e9).rounded())) }
        let integers: [(String, Int?)] = [("CpuShares", cpuShares), ("CpuPeriod", cpuPeriod), ("CpuQuota", cpuQuota),
                                          ("CpuRealtimePeriod", cpuRtPeriod), ("CpuRealtimeRuntime", cpuRtRuntime),
                                          ("PidsLimit", pidsLimit), ("BlkioWeight", blkioWeight)]
        for (key, value) in integers { if let value { host[key] = .int(Int64(value)) } }
        for (key, value) in [("CpusetCpus", cpusetCpus), ("CpusetMems", cpusetMems), ("IpcMode", ipc), ("PidMode", pid), ("UTSMode", uts),
                             ("CgroupnsMode", cgroupns), ("CgroupParent", cgroupParent), ("UsernsMode", userns)] {
            if let value { host[key] = .string(value) }
        }
        if let domainname { config["Domainname"] = .string(domainname) }
        for (key, values) in [("GroupAdd", groupAdd), ("ExtraHosts", addHost), ("Dns", dns), ("DnsSearch", dnsSearch),
                              ("DnsOptions", dnsOption), ("DeviceCgroupRules", deviceCgroupRule)] where !values.isEmpty {
            host[key] = .array(values.map(JSONValue.string))
        }
        if !sysctl.isEmpty {
            var settings: [String: JSONValue] = [:]
            for entry in sysctl {
                let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw Self.invalid(entry, "--sysctl", "sysctl '\(entry)' is not of the form key=value") }
                settings[parts[0]] = .string(parts[1])
            }
            host["Sysctls"] = .object(settings)
        }
        if !ulimit.isEmpty { host["Ulimits"] = .array(try ulimit.map(Self.ulimit)) }
        if !device.isEmpty { host["Devices"] = .array(try device.map(Self.device)) }
        if let gpus { host["DeviceRequests"] = .array([try Self.gpuRequest(gpus)]) }
        let throttles = [("BlkioDeviceReadBps", "--device-read-bps", deviceReadBps, true), ("BlkioDeviceWriteBps", "--device-write-bps", deviceWriteBps, true),
                         ("BlkioDeviceReadIOps", "--device-read-iops", deviceReadIops, false), ("BlkioDeviceWriteIOps", "--device-write-iops", deviceWriteIops, false)]
        for (key, flag, entries, bytes) in throttles where !entries.isEmpty {
            host[key] = .array(try entries.map { try Self.throttle($0, flag: flag, bytes: bytes) })
        }
        if !blkioWeightDevice.isEmpty {
            host["BlkioWeightDevice"] = .array(try blkioWeightDevice.map { entry in
                let (path, value) = try Self.deviceValue(entry, flag: "--blkio-weight-device")
                guard let weight = Int64(value), (10...1000).contains(weight) else {
                    throw Self.invalid(entry, "--blkio-weight-device", "invalid weight for device: \(value)")
                }
                return .object(["Path": .string(path), "Weight": .int(weight)])
            })
        }
        if let health = try healthcheck() { config["Healthcheck"] = health }
    }

    private func healthcheck() throws -> JSONValue? {
        let durations = [("Interval", "--health-interval", healthInterval), ("Timeout", "--health-timeout", healthTimeout),
                         ("StartPeriod", "--health-start-period", healthStartPeriod), ("StartInterval", "--health-start-interval", healthStartInterval)]
        let anyHealth = healthCmd != nil || healthRetries != nil || durations.contains { $0.2 != nil }
        if noHealthcheck {
            if anyHealth { throw CLIError.usage("--no-healthcheck conflicts with --health-* options") }
            return .object(["Test": .array([.string("NONE")])])
        }
        guard anyHealth else { return nil }
        var health: [String: JSONValue] = [:]
        if let healthCmd { health["Test"] = .array([.string("CMD-SHELL"), .string(healthCmd)]) }
        for (key, flag, text) in durations {
            guard let text else { continue }
            guard let nanoseconds = GoDuration.nanoseconds(text) else { throw Self.invalid(text, flag, "time: invalid duration \"\(text)\"") }
            guard nanoseconds >= 0 else { throw CLIError.usage("\(flag) cannot be negative") }
            health[key] = .int(nanoseconds)
        }
        if let healthRetries {
            guard healthRetries >= 0 else { throw CLIError.usage("--health-retries cannot be negative") }
            health["Retries"] = .int(Int64(healthRetries))
        }
        return .object(health)
    }

    // MARK: Value forms

    static func invalid(_ value: String, _ flag: String, _ reason: String) -> CLIError {
        .usage("invalid argument \"\(value)\" for \"\(flag)\" flag: \(reason)")
    }

    /// `64m`, `1g`, `512` (bytes); `-1` where the flag takes "unlimited".
    static func size(_ text: String?, flag: String, unlimited: Bool = false) throws -> JSONValue? {
        guard let text else { return nil }
        if unlimited, text == "-1" { return .int(-1) }
        guard let bytes = ByteSize.parse(text) else { throw invalid(text, flag, "invalid size: '\(text)'") }
        return .int(bytes)
    }

    /// `nofile=1024[:2048]`.
    static func ulimit(_ text: String) throws -> JSONValue {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw invalid(text, "--ulimit", "invalid ulimit argument: \(text)") }
        let limits = parts[1].split(separator: ":", omittingEmptySubsequences: false).compactMap { Int64($0) }
        guard (1...2).contains(limits.count), limits.count == parts[1].split(separator: ":", omittingEmptySubsequences: false).count else {
            throw invalid(text, "--ulimit", "invalid ulimit argument: \(text)")
        }
        return .object(["Name": .string(parts[0]), "Soft": .int(limits[0]), "Hard": .int(limits.last!)])
    }

    /// `/dev/host[:/dev/container][:rwm]`, as docker splits it.
    static func device(_ text: String) throws -> JSONValue {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func isMode(_ mode: String) -> Bool { !mode.isEmpty && mode.count <= 3 && mode.allSatisfy { "rwm".contains($0) } }
        var source = parts[0], destination = parts[0], permissions = "rwm"
        switch parts.count {
        case 1: break
        case 2 where isMode(parts[1]): permissions = parts[1]
        case 2: destination = parts[1]
        case 3:
            guard isMode(parts[2]) else { throw invalid(text, "--device", "invalid device mode: \(parts[2])") }
            destination = parts[1]
            permissions = parts[2]
        default: throw invalid(text, "--device", "invalid device specification: \(text)")
        }
        if destination.isEmpty { destination = source }
        if source.isEmpty { throw invalid(text, "--device", "invalid device specification: \(text)") }
        source = source.hasSuffix("/") && source.count > 1 ? String(source.dropLast()) : source
        return .object(["PathOnHost": .string(source), "PathInContainer": .string(destination), "CgroupPermissions": .string(permissions)])
    }

    /// `--gpus all|N|device=0,1[,capabilities=…]` as docker's device request.
    static func gpuRequest(_ text: String) throws -> JSONValue {
        var request: [String: JSONValue] = ["Driver": .string(""), "Capabilities": .array([.array([.string("gpu")])])]
        if text == "all" {
            request["Count"] = .int(-1)
        } else if let count = Int64(text) {
            request["Count"] = .int(count)
        } else if text.hasPrefix("device=") || text.hasPrefix("\"device=") {
            let ids = text.trimmingCharacters(in: ["\""]).dropFirst(7).split(separator: ",").map { JSONValue.string(String($0)) }
            request["DeviceIDs"] = .array(ids)
        } else {
            throw invalid(text, "--gpus", "unexpected key in '\(text)'")
        }
        return .object(request)
    }

    private static func deviceValue(_ text: String, flag: String) throws -> (String, String) {
        guard let colon = text.lastIndex(of: ":"), text.hasPrefix("/") else {
            throw invalid(text, flag, "bad format: \(text)")
        }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// `/dev/sda:1mb` (a size) or `/dev/sda:100` (a count).
    private static func throttle(_ text: String, flag: String, bytes: Bool) throws -> JSONValue {
        let (path, value) = try deviceValue(text, flag: flag)
        let rate = bytes ? ByteSize.parse(value) : Int64(value)
        guard let rate, rate >= 0 else { throw invalid(text, flag, "invalid rate for device: \(value). The correct format is <device-path>:<number>") }
        return .object(["Path": .string(path), "Rate": .int(rate)])
    }
}
