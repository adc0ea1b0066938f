import Foundation

/// `GET /containers/{id}/stats`: Docker's stats object from the container's cgroup counters
/// (cgroup v1 controllers, or the v2 unified directory, at the container's cgroups path).
extension ContainerEngine {
    public func stats(_ reference: String) throws -> JSONValue {
        let id = try resolve(reference)
        let record = containers[id]!
        var object: [String: JSONValue] = [
            "read": .string(Date().rfc3339Nano), "preread": .string(ContainerRunState.zeroTime),
            "name": .string("/" + record.name), "id": .string(id), "num_procs": .int(0), "storage_stats": .object([:]),
        ]
        let online = Int64(ProcessInfo.processInfo.activeProcessorCount)
        guard record.state.running else {
            object["pids_stats"] = .object([:])
            object["cpu_stats"] = .object(["cpu_usage": .object(["total_usage": .int(0), "usage_in_kernelmode": .int(0), "usage_in_usermode": .int(0)]),
                                           "throttling_data": .object(["periods": .int(0), "throttled_periods": .int(0), "throttled_time": .int(0)])])
            object["precpu_stats"] = object["cpu_stats"]
            object["memory_stats"] = .object([:])
            object["blkio_stats"] = .object(["io_service_bytes_recursive": .null])
            return .object(object)
        }
        let cgroup = CgroupCounters(path: SpecBuilder.cgroupsPath(record))
        object["pids_stats"] = .object(["current": .int(cgroup.pids), "limit": cgroup.pidsLimit.map(JSONValue.int) ?? .null])
        let cpu = cgroup.cpu
        object["cpu_stats"] = .object([
            "cpu_usage": .object(["total_usage": .int(cpu.total), "usage_in_kernelmode": .int(cpu.system),
                                  "usage_in_usermode": .int(cpu.user)]),
            "system_cpu_usage": .int(CgroupCounters.systemCPUNanoseconds()), "online_cpus": .int(online),
            "throttling_data": .object(["periods": .int(0), "throttled_periods": .int(0), "throttled_time": .int(0)]),
        ])
        object["precpu_stats"] = .object(["cpu_usage": .object(["total_usage": .int(0), "usage_in_kernelmode": .int(0), "usage_in_usermode": .int(0)]),
                                          "throttling_data": .object(["periods": .int(0), "throttled_periods": .int(0), "throttled_time": .int(0)])])
        let memory = cgroup.memory
        object["memory_stats"] = .object(["usage": .int(memory.usage), "max_usage": .int(memory.maxUsage), "limit": .int(memory.limit),
                                          "stats": .object(memory.stats.mapValues(JSONValue.int))])
        object["blkio_stats"] = .object(["io_service_bytes_recursive": .null, "io_serviced_recursive": .null])
        return .object(object)
    }
}

/// Reads a cgroup's counters in either hierarchy.
struct CgroupCounters {
    let path: String
    private var unified: Bool { FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") }

    private func read(_ controller: String, _ file: String) -> String? {
        let full = unified ? "/sys/fs/cgroup\(path)/\(file)" : "/sys/fs/cgroup/\(controller)\(path)/\(file)"
        return (try? String(contentsOfFile: full, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func keyed(_ text: String?) -> [String: Int64] {
        var values: [String: Int64] = [:]
        for line in (text ?? "").split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, let value = Int64(fields[1]) { values[String(fields[0])] = value }
        }
        return values
    }

    var pids: Int64 { Int64(read("pids", "pids.current") ?? "") ?? 0 }
    var pidsLimit: Int64? { Int64(read("pids", "pids.max") ?? "") }

    var cpu: (total: Int64, user: Int64, system: Int64) {
        if unified {
            let stat = keyed(read("", "cpu.stat"))
            return ((stat["usage_usec"] ?? 0) * 1000, (stat["user_usec"] ?? 0) * 1000, (stat["system_usec"] ?? 0) * 1000)
        }
        let total = Int64(read("cpuacct", "cpuacct.usage") ?? "") ?? 0
        let stat = keyed(read("cpuacct", "cpuacct.stat"))
        // USER_HZ ticks.
        return (total, (stat["user"] ?? 0) * 10_000_000, (stat["system"] ?? 0) * 10_000_000)
    }

    var memory: (usage: Int64, maxUsage: Int64, limit: Int64, stats: [String: Int64]) {
        if unified {
            let limit = Int64(read("", "memory.max") ?? "") ?? Int64(ProcessInfo.processInfo.physicalMemory)
            return (Int64(read("", "memory.current") ?? "") ?? 0, Int64(read("", "memory.peak") ?? "") ?? 0, limit, keyed(read("", "memory.stat")))
        }
        let rawLimit = Int64(read("memory", "memory.limit_in_bytes") ?? "") ?? 0
        let physical = Int64(ProcessInfo.processInfo.physicalMemory)
        return (Int64(read("memory", "memory.usage_in_bytes") ?? "") ?? 0, Int64(read("memory", "memory.max_usage_in_bytes") ?? "") ?? 0,
                rawLimit > physical || rawLimit == 0 ? physical : rawLimit, keyed(read("memory", "memory.stat")))
    }

    /// Host CPU time in nanoseconds, from the first line of /proc/stat (USER_HZ = 100).
    static func systemCPUNanoseconds() -> Int64 {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let line = text.split(separator: "\n").first else { return 0 }
        return line.split(separator: " ").dropFirst().prefix(7).compactMap { Int64($0) }.reduce(0, +) * 10_000_000
    }
}
