import BerthOCI
import BerthSystem
import CBerthSystem
import Glibc

/// A container cgroup on the unified (v2) hierarchy.
struct CgroupV2: Cgroup {
    let path: String
    var paths: [String: String] { ["": path] }

    func create() throws {
        try CgroupFactory.makeDirectory(path)
        // Controllers must be enabled in every ancestor's subtree_control to be usable here.
        let root = CgroupFactory.root
        var ancestors: [String] = []
        var current = String(path[..<path.lastIndex(of: "/")!])
        while current.count >= root.count {
            ancestors.append(current)
            guard let slash = current.lastIndex(of: "/") else { break }
            current = String(current[..<slash])
        }
        for dir in ancestors.reversed() {
            let available = ((try? SmallFile.read(dir + "/cgroup.controllers")) ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
            let wanted = available.filter { ["cpu", "cpuset", "memory", "pids", "io", "hugetlb", "misc", "rdma"].contains($0) }
            for controller in wanted {
                // Fails for the root when a process lives there (no internal process rule); harmless.
                try? SmallFile.write(dir + "/cgroup.subtree_control", "+" + controller)
            }
        }
    }

    private func has(_ file: String, for what: String) throws {
        guard SmallFile.exists(path + "/" + file) else {
            throw RuntimeError.cgroup("\(what) is unavailable: \(path) has no \(file) (controller not enabled)")
        }
    }

    private func set(_ file: String, _ value: String, for what: String) throws {
        try has(file, for: what)
        try CgroupFactory.write(path, file, value)
    }

    func apply(_ r: RuntimeSpec.Resources, defaultDevices: [RuntimeSpec.DeviceCgroup]) throws {
        if r.network != nil {
            throw RuntimeError.cgroup("linux.resources.network needs the v1 net_cls and net_prio controllers, which cgroup v2 does not have")
        }
        if let m = r.memory {
            if let limit = m.limit { try set("memory.max", limit > 0 ? "\(limit)" : "max", for: "memory limit") }
            if let reservation = m.reservation { try set("memory.low", reservation > 0 ? "\(reservation)" : "0", for: "memory reservation") }
            if let swap = m.swap {
                // v1's swap is memory+swap; v2's memory.swap.max is swap alone.
                let value: String
                if swap == -1 { value = "max" } else if let limit = m.limit, limit > 0 { value = "\(max(0, swap - limit))" } else { value = "\(swap)" }
                try set("memory.swap.max", value, for: "swap limit")
            }
            if m.disableOOMKiller == true {
                throw RuntimeError.cgroup("disabling the OOM killer is not possible on cgroup v2")
            }
        }
        if let c = r.cpu {
            if let shares = c.shares, shares != 0 {
                // runc's mapping of v1 shares [2, 262144] onto v2 weight [1, 10000].
                let weight = 1 + ((shares - 2) * 9999) / 262142
                try set("cpu.weight", "\(weight)", for: "CPU shares")
            }
            if (c.quota ?? 0) != 0 || (c.period ?? 0) != 0 {
                let quota = c.quota.map { $0 > 0 ? "\($0)" : "max" } ?? "max"
                try set("cpu.max", "\(quota) \(c.period ?? 100_000)", for: "CPU quota")
            }
            if let burst = c.burst { try set("cpu.max.burst", "\(burst)", for: "CPU burst") }
            if let idle = c.idle { try set("cpu.idle", "\(idle)", for: "CPU idle") }
            if let cpus = c.cpus, !cpus.isEmpty { try set("cpuset.cpus", cpus, for: "cpuset") }
            if let mems = c.mems, !mems.isEmpty { try set("cpuset.mems", mems, for: "cpuset") }
        }
        if let p = r.pids { try set("pids.max", p.limit > 0 ? "\(p.limit)" : "max", for: "pids limit") }
        if let b = r.blockIO {
            if let w = b.weight {
                // blkio weight [10, 1000] → io.weight [1, 10000].
                let weight = 1 + (UInt64(w) - 10) * 9999 / 990
                try set("io.weight", "default \(weight)", for: "block I/O weight")
            }
            let throttles: [(String, [RuntimeSpec.ThrottleDevice]?)] = [
                ("rbps", b.throttleReadBpsDevice), ("wbps", b.throttleWriteBpsDevice),
                ("riops", b.throttleReadIOPSDevice), ("wiops", b.throttleWriteIOPSDevice),
            ]
            for (key, devices) in throttles {
                for t in devices ?? [] { try set("io.max", "\(t.major):\(t.minor) \(key)=\(t.rate)", for: "block I/O throttle") }
            }
        }
        for h in r.hugepageLimits ?? [] {
            try set("hugetlb.\(h.pageSize).max", "\(h.limit)", for: "hugepage limit")
        }
        for (key, value) in (r.unified ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard !key.contains("/") else { throw RuntimeError.cgroup("invalid unified key \(key)") }
            try set(key, value, for: "unified setting \(key)")
        }
        if let devices = r.devices {
            try attachDeviceFilter(devices + defaultDevices)
        }
    }

    /// v2 has no devices controller: rules are an eBPF program attached to the cgroup.
    private func attachDeviceFilter(_ rules: [RuntimeSpec.DeviceCgroup]) throws {
        let program = try DeviceFilterProgram(rules: rules)
        let dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { throw RuntimeError.cgroup("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(dir) }
        var log = [CChar](repeating: 0, count: 16384)
        let rc = program.instructions.withUnsafeBufferPointer { insns in
            berth_cgroup_device_program_attach(dir, insns.baseAddress, UInt32(insns.count), &log, UInt32(log.count))
        }
        guard rc == 0 else {
            let text = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let verifier = text.split(separator: "\n").suffix(3).joined(separator: "; ")
            throw RuntimeError.cgroup("load the device filter for \(path): \(String(cString: strerror(errno)))"
                                      + (verifier.isEmpty ? "" : " (\(verifier))"))
        }
    }

    func join(_ pid: pid_t) throws {
        try CgroupFactory.write(path, "cgroup.procs", "\(pid)")
    }

    func joinSelf() throws {
        try join(0)
    }

    func setFrozen(_ frozen: Bool) throws {
        try set("cgroup.freeze", frozen ? "1" : "0", for: "pause/resume")
        for _ in 0..<1000 {
            let events = (try? SmallFile.read(path + "/cgroup.events")) ?? ""
            if events.contains("frozen \(frozen ? 1 : 0)") { return }
            usleep(1000)
        }
        throw RuntimeError.cgroup("the cgroup did not \(frozen ? "freeze" : "thaw")")
    }

    func isFrozen() -> Bool {
        ((try? SmallFile.read(path + "/cgroup.events")) ?? "").contains("frozen 1")
    }

    func processes() -> [pid_t] {
        CgroupFactory.readPids(path + "/cgroup.procs")
    }

    func destroy() throws {
        try CgroupFactory.removeDirectory(path)
    }

    func oomKillCount() -> Int {
        guard let content = try? SmallFile.read(path + "/memory.events") else { return 0 }
        for line in content.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.split(separator: " ")[1]) ?? 0
        }
        return 0
    }
}
