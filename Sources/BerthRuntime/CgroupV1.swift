import BerthOCI
import BerthSystem
import Glibc

/// A container cgroup on cgroup v1: one directory per mounted controller hierarchy.
struct CgroupV1: Cgroup {
    let paths: [String: String]

    func create() throws {
        for (controller, path) in paths.sorted(by: { $0.key < $1.key }) {
            try CgroupFactory.makeDirectory(path)
            if controller == "cpuset" { try inheritCpuset(path) }
        }
    }

    /// A new v1 cpuset starts empty and refuses tasks; copy cpus/mems down from the nearest ancestor.
    private func inheritCpuset(_ path: String) throws {
        guard let mount = CgroupFactory.v1Mounts()["cpuset"] else { return }
        var chain: [String] = []
        var current = path
        while current.count > mount.count {
            chain.append(current)
            current = String(current[..<(current.lastIndex(of: "/") ?? current.startIndex)])
        }
        for dir in chain.reversed() {
            let parent = String(dir[..<dir.lastIndex(of: "/")!])
            for file in ["cpuset.cpus", "cpuset.mems"] {
                let own = (try? SmallFile.read(dir + "/" + file))?.trimmed ?? ""
                if own.isEmpty, let inherited = try? SmallFile.read(parent + "/" + file).trimmed, !inherited.isEmpty {
                    try CgroupFactory.write(dir, file, inherited)
                }
            }
        }
    }

    private func dir(_ controller: String, for what: String) throws -> String {
        guard let path = paths[controller] else {
            throw RuntimeError.cgroup("the \(controller) controller is not mounted on this host, so \(what) cannot be applied")
        }
        return path
    }

    func apply(_ r: RuntimeSpec.Resources, defaultDevices: [RuntimeSpec.DeviceCgroup]) throws {
        if let unified = r.unified, !unified.isEmpty {
            throw RuntimeError.cgroup("linux.resources.unified needs cgroup v2; this host uses cgroup v1")
        }
        if let m = r.memory {
            if m.limit != nil || m.reservation != nil || m.swap != nil || m.swappiness != nil || m.disableOOMKiller == true {
                let d = try dir("memory", for: "memory limits")
                // Swap (memory+swap) must never be below the limit: set in the order that keeps that true.
                let currentLimit = Int64((try? SmallFile.read(d + "/memory.limit_in_bytes"))?.trimmed ?? "") ?? Int64.max
                if let swap = m.swap, let limit = m.limit, swap != -1, limit > currentLimit {
                    try writeSwap(d, swap)
                    try CgroupFactory.write(d, "memory.limit_in_bytes", "\(limit)")
                } else {
                    if let limit = m.limit { try CgroupFactory.write(d, "memory.limit_in_bytes", "\(limit)") }
                    if let swap = m.swap { try writeSwap(d, swap) }
                }
                if let reservation = m.reservation { try CgroupFactory.write(d, "memory.soft_limit_in_bytes", "\(reservation)") }
                if let swappiness = m.swappiness {
                    guard swappiness <= 100 else { throw RuntimeError.cgroup("invalid memory swappiness \(swappiness): must be 0-100") }
                    try CgroupFactory.write(d, "memory.swappiness", "\(swappiness)")
                }
                if m.disableOOMKiller == true { try CgroupFactory.write(d, "memory.oom_control", "1") }
            }
        }
        if let c = r.cpu {
            if c.shares != nil || c.quota != nil || c.period != nil || c.realtimeRuntime != nil || c.realtimePeriod != nil || c.burst != nil {
                let d = try dir("cpu", for: "CPU shares and quota")
                if let shares = c.shares, shares != 0 { try CgroupFactory.write(d, "cpu.shares", "\(shares)") }
                if let period = c.period, period != 0 { try CgroupFactory.write(d, "cpu.cfs_period_us", "\(period)") }
                if let quota = c.quota, quota != 0 { try CgroupFactory.write(d, "cpu.cfs_quota_us", "\(quota)") }
                if let burst = c.burst { try CgroupFactory.write(d, "cpu.cfs_burst_us", "\(burst)") }
                if let p = c.realtimePeriod, p != 0 { try CgroupFactory.write(d, "cpu.rt_period_us", "\(p)") }
                if let rt = c.realtimeRuntime, rt != 0 { try CgroupFactory.write(d, "cpu.rt_runtime_us", "\(rt)") }
            }
            if c.cpus?.isEmpty == false || c.mems?.isEmpty == false {
                let d = try dir("cpuset", for: "cpuset")
                if let cpus = c.cpus, !cpus.isEmpty { try CgroupFactory.write(d, "cpuset.cpus", cpus) }
                if let mems = c.mems, !mems.isEmpty { try CgroupFactory.write(d, "cpuset.mems", mems) }
            }
        }
        if let p = r.pids {
            let d = try dir("pids", for: "the pids limit")
            try CgroupFactory.write(d, "pids.max", p.limit > 0 ? "\(p.limit)" : "max")
        }
        if let b = r.blockIO {
            let d = try dir("blkio", for: "block I/O limits")
            if let w = b.weight { try CgroupFactory.write(d, "blkio.weight", "\(w)") }
            if let w = b.leafWeight { try CgroupFactory.write(d, "blkio.leaf_weight", "\(w)") }
            for wd in b.weightDevice ?? [] {
                if let w = wd.weight { try CgroupFactory.write(d, "blkio.weight_device", "\(wd.major):\(wd.minor) \(w)") }
                if let w = wd.leafWeight { try CgroupFactory.write(d, "blkio.leaf_weight_device", "\(wd.major):\(wd.minor) \(w)") }
            }
            let throttles: [(String, [RuntimeSpec.ThrottleDevice]?)] = [
                ("blkio.throttle.read_bps_device", b.throttleReadBpsDevice),
                ("blkio.throttle.write_bps_device", b.throttleWriteBpsDevice),
                ("blkio.throttle.read_iops_device", b.throttleReadIOPSDevice),
                ("blkio.throttle.write_iops_device", b.throttleWriteIOPSDevice),
            ]
            for (file, devices) in throttles {
                for t in devices ?? [] { try CgroupFactory.write(d, file, "\(t.major):\(t.minor) \(t.rate)") }
            }
        }
        for h in r.hugepageLimits ?? [] {
            let d = try dir("hugetlb", for: "hugepage limits")
            try CgroupFactory.write(d, "hugetlb.\(h.pageSize).limit_in_bytes", "\(h.limit)")
        }
        if let n = r.network {
            if let classID = n.classID { try CgroupFactory.write(try dir("net_cls", for: "net_cls classid"), "net_cls.classid", "\(classID)") }
            for prio in n.priorities ?? [] {
                try CgroupFactory.write(try dir("net_prio", for: "net_prio priorities"), "net_prio.ifpriomap", "\(prio.name) \(prio.priority)")
            }
        }
        if let devices = r.devices, let d = paths["devices"] {
            for rule in devices + defaultDevices {
                try CgroupFactory.write(d, rule.allow ? "devices.allow" : "devices.deny", Self.deviceRule(rule))
            }
        } else if r.devices != nil {
            throw RuntimeError.cgroup("the devices controller is not mounted on this host, so device rules cannot be applied")
        }
    }

    private func writeSwap(_ dir: String, _ swap: Int64) throws {
        let file = "memory.memsw.limit_in_bytes"
        guard SmallFile.exists(dir + "/" + file) else {
            if swap == -1 { return }
            throw RuntimeError.cgroup("swap limits need swap accounting (boot with swapaccount=1); \(file) is missing")
        }
        try CgroupFactory.write(dir, file, "\(swap)")
    }

    static func deviceRule(_ rule: RuntimeSpec.DeviceCgroup) -> String {
        let type = rule.type ?? "a"
        if type == "a" && rule.major == nil && rule.minor == nil { return "a" }
        let major = rule.major.map { $0 < 0 ? "*" : String($0) } ?? "*"
        let minor = rule.minor.map { $0 < 0 ? "*" : String($0) } ?? "*"
        return "\(type) \(major):\(minor) \(rule.access ?? "rwm")"
    }

    func join(_ pid: pid_t) throws {
        for (_, path) in paths.sorted(by: { $0.key < $1.key }) {
            try CgroupFactory.write(path, "cgroup.procs", "\(pid)")
        }
    }

    /// Writing "0" to `tasks` moves only the calling thread and, unlike a `cgroup.procs` write,
    /// skips the global threadgroup lock whose RCU grace period costs 4–25 ms per container.
    /// Correct only for a single-threaded caller (the runtime's helper process is one).
    func joinSelf() throws {
        for (_, path) in paths.sorted(by: { $0.key < $1.key }) {
            try CgroupFactory.write(path, "tasks", "0")
        }
    }

    func setFrozen(_ frozen: Bool) throws {
        let d = try dir("freezer", for: "pause/resume")
        try CgroupFactory.write(d, "freezer.state", frozen ? "FROZEN" : "THAWED")
        for _ in 0..<1000 {
            let state = (try? SmallFile.read(d + "/freezer.state"))?.trimmed
            if state == (frozen ? "FROZEN" : "THAWED") { return }
            // FREEZING can stall on a task in uninterruptible sleep; writing again retries it.
            if frozen { try? CgroupFactory.write(d, "freezer.state", "FROZEN") }
            usleep(1000)
        }
        throw RuntimeError.cgroup("the freezer did not reach \(frozen ? "FROZEN" : "THAWED")")
    }

    func isFrozen() -> Bool {
        guard let d = paths["freezer"] else { return false }
        return (try? SmallFile.read(d + "/freezer.state"))?.trimmed == "FROZEN"
    }

    func processes() -> [pid_t] {
        guard let d = paths["pids"] ?? paths["memory"] ?? paths["freezer"] ?? paths.values.first else { return [] }
        return CgroupFactory.readPids(d + "/cgroup.procs")
    }

    func destroy() throws {
        for (_, path) in paths { try CgroupFactory.removeDirectory(path) }
    }

    func oomKillCount() -> Int {
        guard let d = paths["memory"], let content = try? SmallFile.read(d + "/memory.oom_control") else { return 0 }
        for line in content.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.split(separator: " ")[1]) ?? 0
        }
        return 0
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
