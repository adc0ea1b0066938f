import BerthOCI
import BerthSystem
import Glibc

/// Everything in a config.json that can be checked before anything is created.
///
/// `create` refuses a spec here, with one line naming the field, and leaves nothing behind; a
/// mistake found only by the container's process (after `start`) would surface as an exit 127
/// that names nothing. What only the kernel can judge (mount options, cgroup values it
/// accepts) is still tried during `create`, never after it.
struct SpecValidator {
    let spec: RuntimeSpec

    private var linux: RuntimeSpec.Linux { spec.linux ?? .init() }
    private var namespaces: [RuntimeSpec.Namespace] { linux.namespaces ?? [] }

    func validate() throws {
        guard let process = spec.process else { throw fail("process is missing") }
        try Self.validate(process)
        try validateUnsupported()
        try validateNamespaces()
        try validateMountNamespaceUsers()
        try validateSysctls()
        try validateDevices()
        try validateResources(linux.resources)
        _ = try linux.rootfsPropagation.map { try RootPropagation($0) }
    }

    private func has(_ type: RuntimeSpec.NamespaceType) -> Bool { namespaces.contains { $0.type == type } }

    private func fail(_ message: String) -> RuntimeError { .invalidConfig(message) }

    // MARK: process

    /// A container's process, or one for `exec`.
    static func validate(_ process: RuntimeSpec.Process) throws {
        func fail(_ message: String) -> RuntimeError { .invalidConfig(message) }
        guard let program = process.args?.first, !program.isEmpty else { throw fail("process.args must name a program") }
        guard process.cwd.hasPrefix("/") else { throw fail("process.cwd \"\(process.cwd)\" must be an absolute path") }
        let sets: [(String, [String]?)] = [
            ("bounding", process.capabilities?.bounding), ("effective", process.capabilities?.effective),
            ("inheritable", process.capabilities?.inheritable), ("permitted", process.capabilities?.permitted),
            ("ambient", process.capabilities?.ambient),
        ]
        for (name, list) in sets {
            // runc's names only: CAP_ and upper case.
            let unknown = (list ?? []).filter { !Capability.names.contains($0) }
            if !unknown.isEmpty {
                throw fail("process.capabilities.\(name): unknown capabilit\(unknown.count == 1 ? "y" : "ies") \(unknown.joined(separator: ", "))")
            }
        }
        var seen = Set<String>()
        for limit in process.rlimits ?? [] {
            guard ProcessSetup.rlimitTable[limit.type] != nil else {
                throw fail("process.rlimits: unknown rlimit type \(limit.type) (expected RLIMIT_NOFILE, RLIMIT_NPROC, …)")
            }
            guard seen.insert(limit.type).inserted else { throw fail("process.rlimits: \(limit.type) is listed twice") }
            guard limit.soft <= limit.hard else {
                throw fail("process.rlimits: \(limit.type) soft limit \(limit.soft) is above its hard limit \(limit.hard)")
            }
        }
        if let score = process.oomScoreAdj, !(-1000...1000).contains(score) {
            throw fail("process.oomScoreAdj \(score) is outside -1000…1000")
        }
        if let umask = process.user.umask, umask > 0o777 { throw fail("process.user.umask \(umask) is not a file mode mask") }
        // Not implemented: refused by name rather than ignored (an ignored profile or
        // scheduling class would leave the process less confined or placed than asked).
        let unsupported: [(String, Bool)] = [
            ("apparmorProfile (AppArmor is not supported)", process.apparmorProfile?.isEmpty == false),
            ("selinuxLabel (SELinux is not supported)", process.selinuxLabel?.isEmpty == false),
            ("ioPriority", process.ioPriority != nil),
            ("scheduler", process.scheduler != nil),
            ("execCPUAffinity", process.execCPUAffinity != nil),
        ]
        if let (name, _) = unsupported.first(where: \.1) { throw fail("process.\(name) is not supported by berth-runtime") }
    }

    /// Spec fields berth-runtime does not implement, refused by name.
    private func validateUnsupported() throws {
        let r = linux.resources
        let unsupported: [(String, Bool)] = [
            ("linux.mountLabel (SELinux is not supported)", linux.mountLabel?.isEmpty == false),
            ("linux.intelRdt", linux.intelRdt != nil),
            ("linux.personality", linux.personality != nil),
            ("linux.memoryPolicy", linux.memoryPolicy != nil),
            ("linux.netDevices", !(linux.netDevices ?? [:]).isEmpty),
            ("linux.resources.rdma", !(r?.rdma ?? [:]).isEmpty),
            ("linux.seccomp.listenerPath", linux.seccomp?.listenerPath?.isEmpty == false),
        ]
        if let (name, _) = unsupported.first(where: \.1) { throw fail("\(name) is not supported by berth-runtime") }
    }

    // MARK: namespaces

    private func validateNamespaces() throws {
        var seen = Set<RuntimeSpec.NamespaceType>()
        for ns in namespaces {
            guard seen.insert(ns.type).inserted else { throw fail("linux.namespaces: \(ns.type.rawValue) is listed twice") }
            guard let path = ns.path, !path.isEmpty else { continue }
            let expected = NamespaceKind(rawValue: ns.type.rawValue)
            guard let kind = Namespaces.kind(at: path) else {
                throw fail("linux.namespaces: \(ns.type.rawValue) path \(path) is not a namespace (\(SmallFile.exists(path) ? "not an nsfs file" : "no such file"))")
            }
            guard kind == expected else {
                throw fail("linux.namespaces: \(ns.type.rawValue) path \(path) is a \(kind.rawValue) namespace")
            }
        }
        if !has(.user) && (!(linux.uidMappings ?? []).isEmpty || !(linux.gidMappings ?? []).isEmpty) {
            throw fail("linux.uidMappings and gidMappings need a user namespace in linux.namespaces")
        }
        if !has(.uts) {
            if spec.hostname?.isEmpty == false { throw fail("hostname needs a UTS namespace in linux.namespaces (it would rename the host)") }
            if spec.domainname?.isEmpty == false { throw fail("domainname needs a UTS namespace in linux.namespaces (it would rename the host's domain)") }
        }
        if !has(.time), !(linux.timeOffsets ?? [:]).isEmpty { throw fail("linux.timeOffsets need a time namespace in linux.namespaces") }
    }

    /// What only a mount namespace of the container's own can do without changing the host.
    private func validateMountNamespaceUsers() throws {
        guard !has(.mount) else { return }
        if !(linux.maskedPaths ?? []).isEmpty || !(linux.readonlyPaths ?? []).isEmpty {
            throw fail("linux.maskedPaths and readonlyPaths need a mount namespace in linux.namespaces (they would hide the host's files)")
        }
        if linux.rootfsPropagation?.isEmpty == false {
            throw fail("linux.rootfsPropagation needs a mount namespace in linux.namespaces (it would change the host's mounts)")
        }
    }

    // MARK: sysctl

    static let ipcSysctls: Set<String> = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                                          "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"]

    /// Only namespaced sysctls, and only with the namespace that makes them the container's.
    private func validateSysctls() throws {
        for key in (linux.sysctl ?? [:]).keys.sorted() {
            let needed: RuntimeSpec.NamespaceType
            if Self.ipcSysctls.contains(key) || key.hasPrefix("fs.mqueue.") {
                needed = .ipc
            } else if key.hasPrefix("net.") {
                needed = .network
            } else if key == "kernel.hostname" || key == "kernel.domainname" {
                needed = .uts
            } else {
                throw fail("linux.sysctl: \(key) is not namespaced and would change the host")
            }
            guard has(needed) else { throw fail("linux.sysctl: \(key) needs a \(needed.rawValue) namespace in linux.namespaces") }
            // The network namespace may have sysctls the host's lacks (per-interface ones); the
            // others exist on any kernel that has them at all.
            if needed != .network, !SmallFile.exists("/proc/sys/" + key.replacingDots()) {
                throw fail("linux.sysctl: \(key) does not exist on this kernel")
            }
        }
    }

    // MARK: devices and cgroups

    private func validateDevices() throws {
        for device in linux.devices ?? [] {
            guard ["c", "b", "u", "p"].contains(device.type) else {
                throw fail("linux.devices: \(device.path) has type \"\(device.type)\" (expected c, b, u or p)")
            }
            guard RootfsSetup.clean(device.path).hasPrefix("/dev/") else { throw fail("linux.devices: \(device.path) is not under /dev") }
            if device.type != "p", device.major == nil || device.minor == nil {
                throw fail("linux.devices: \(device.path) needs major and minor numbers")
            }
            if let mode = device.fileMode, mode > 0o7777 { throw fail("linux.devices: \(device.path) fileMode \(mode) is not a file mode") }
        }
    }

    func validateResources(_ resources: RuntimeSpec.Resources?) throws {
        guard let r = resources else { return }
        for rule in r.devices ?? [] {
            guard ["a", "b", "c"].contains(rule.type ?? "a") else {
                throw fail("linux.resources.devices: type \"\(rule.type ?? "")\" is not a, b or c")
            }
            if let access = rule.access, access.isEmpty || !access.allSatisfy({ "rwm".contains($0) }) {
                throw fail("linux.resources.devices: access \"\(access)\" is not a combination of r, w and m")
            }
        }
        if let m = r.memory {
            for (name, value) in [("limit", m.limit), ("reservation", m.reservation), ("swap", m.swap), ("kernel", m.kernel), ("kernelTCP", m.kernelTCP)] {
                if let value, value < -1 { throw fail("linux.resources.memory.\(name) \(value) is below -1 (unlimited)") }
            }
            if let swappiness = m.swappiness, swappiness > 100 { throw fail("linux.resources.memory.swappiness \(swappiness) is above 100") }
            if let limit = m.limit, let swap = m.swap, limit > 0, swap > 0, swap < limit {
                throw fail("linux.resources.memory.swap \(swap) is below the memory limit \(limit) (swap is memory plus swap)")
            }
        }
        if let cpu = r.cpu {
            if let period = cpu.period, period != 0, !(1000...1_000_000).contains(period) {
                throw fail("linux.resources.cpu.period \(period) is outside 1000…1000000 (microseconds)")
            }
            if let quota = cpu.quota, quota != 0, quota != -1, quota < 1000 {
                throw fail("linux.resources.cpu.quota \(quota) is below 1000 microseconds (or -1 for none)")
            }
            if let shares = cpu.shares, shares > 262_144 { throw fail("linux.resources.cpu.shares \(shares) is above 262144") }
            for (name, list) in [("cpus", cpu.cpus), ("mems", cpu.mems)] {
                if let list, !list.isEmpty, CPUList.parse(list) == nil {
                    throw fail("linux.resources.cpu.\(name) \"\(list)\" is not a list such as 0-3,5")
                }
            }
        }
        if let pids = r.pids, pids.limit < -1 { throw fail("linux.resources.pids.limit \(pids.limit) is below -1 (unlimited)") }
        if let weight = r.blockIO?.weight, weight != 0, !(10...1000).contains(weight) {
            throw fail("linux.resources.blockIO.weight \(weight) is outside 10…1000")
        }
        for limit in r.hugepageLimits ?? [] where !Self.isPageSize(limit.pageSize) {
            throw fail("linux.resources.hugepageLimits: page size \"\(limit.pageSize)\" is not a size such as 2MB or 1GB")
        }
    }

    /// `2MB`, `1GB`, `64KB` (the names of the hugetlb controller's files).
    static func isPageSize(_ size: String) -> Bool {
        guard let unit = ["KB", "MB", "GB"].first(where: { size.hasSuffix($0) }) else { return false }
        return UInt64(size.dropLast(unit.count)).map { $0 > 0 } ?? false
    }
}
