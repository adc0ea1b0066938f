import BerthOCI
import BerthSystem
import Foundation
@testable import BerthRuntime
import Testing

/// The control files each limit is written to, on cgroup v2 and v1, checked against a fake
/// cgroupfs: a temp directory whose control files exist empty, as the kernel's would. Pure
/// v2 hosts (Debian 13, Fedora) get the v2 writes this VM, whose controllers are on v1, cannot run.
@Suite("cgroup writes on a fake cgroupfs")
struct CgroupFakeTreeTests {
    /// A directory with the named control files, empty.
    private static func tree(_ files: [String]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.path + "/fake-cgroup-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for file in files { FileManager.default.createFile(atPath: dir + "/" + file, contents: nil) }
        return dir
    }

    private static func read(_ dir: String, _ file: String) -> String {
        (try? String(contentsOfFile: dir + "/" + file, encoding: .utf8)) ?? "<missing>"
    }

    /// What dockerd's `--memory 64m --memory-swap 128m --memory-reservation 32m --cpus 1.5
    /// --cpu-shares 1024 --cpuset-cpus 0-1 --pids-limit 100 --blkio-weight 500
    /// --device-read-bps 8:0:1mb --device-write-iops 8:16:50` becomes in the spec.
    private static let resources: RuntimeSpec.Resources = {
        var r = RuntimeSpec.Resources()
        r.memory = .init()
        r.memory?.limit = 67_108_864
        r.memory?.swap = 134_217_728
        r.memory?.reservation = 33_554_432
        r.cpu = .init()
        r.cpu?.shares = 1024
        r.cpu?.quota = 150_000
        r.cpu?.period = 100_000
        r.cpu?.cpus = "0-1"
        r.pids = .init(limit: 100)
        r.blockIO = .init(weight: 500, throttleReadBpsDevice: [.init(major: 8, minor: 0, rate: 1_048_576)])
        r.blockIO?.throttleWriteIOPSDevice = [.init(major: 8, minor: 16, rate: 50)]
        return r
    }()

    @Test("v2: memory.max, memory.swap.max (swap alone), memory.low, cpu.weight, cpu.max, cpuset, pids.max, io.weight, io.max")
    func unifiedWrites() throws {
        let dir = try Self.tree(["memory.max", "memory.swap.max", "memory.low", "cpu.weight", "cpu.max", "cpuset.cpus",
                                 "pids.max", "io.weight", "io.max"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // One throttle per apply: a plain file keeps only the last write (the kernel keeps each device's).
        var resources = Self.resources
        resources.blockIO?.throttleWriteIOPSDevice = nil
        try CgroupV2(path: dir).apply(resources, defaultDevices: [])
        #expect(Self.read(dir, "io.max") == "8:0 rbps=1048576")
        resources.blockIO = .init()
        resources.blockIO?.throttleWriteIOPSDevice = [.init(major: 8, minor: 16, rate: 50)]
        try SmallFile.write(dir + "/io.max", "", create: true)
        try CgroupV2(path: dir).apply(resources, defaultDevices: [])
        let expected = [
            "memory.max": "67108864", "memory.swap.max": "67108864", "memory.low": "33554432",
            // runc's mapping of shares onto weights: 1024 → 39.
            "cpu.weight": "39", "cpu.max": "150000 100000", "cpuset.cpus": "0-1", "pids.max": "100",
            // blkio weight 500 of [10, 1000] → io.weight of [1, 10000].
            "io.weight": "default 4950",
            "io.max": "8:16 wiops=50",
        ]
        for (file, value) in expected { #expect(Self.read(dir, file) == value, "\(file)") }
    }

    @Test("v2: unlimited values are max; a missing controller is named; OOM-killer disabling is refused")
    func unifiedEdges() throws {
        let dir = try Self.tree(["memory.max", "memory.swap.max", "pids.max", "cpu.max"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var r = RuntimeSpec.Resources()
        r.memory = .init()
        r.memory?.limit = 67_108_864
        r.memory?.swap = -1
        r.pids = .init(limit: 0)
        r.cpu = .init()
        r.cpu?.quota = -1
        r.cpu?.period = 100_000
        try CgroupV2(path: dir).apply(r, defaultDevices: [])
        #expect(Self.read(dir, "memory.swap.max") == "max")
        #expect(Self.read(dir, "pids.max") == "max")
        #expect(Self.read(dir, "cpu.max") == "max 100000")

        var weighted = RuntimeSpec.Resources()
        weighted.blockIO = .init(weight: 100)
        #expect(throws: RuntimeError.self) { try CgroupV2(path: dir).apply(weighted, defaultDevices: []) }
        do {
            try CgroupV2(path: dir).apply(weighted, defaultDevices: [])
        } catch {
            #expect("\(error)".contains("io.weight"), "\(error)")
        }
        var oom = RuntimeSpec.Resources()
        oom.memory = .init()
        oom.memory?.disableOOMKiller = true
        #expect(throws: RuntimeError.self) { try CgroupV2(path: dir).apply(oom, defaultDevices: []) }
    }

    @Test("v1: each controller's files, swap as memory+swap, throttles and device rules")
    func legacyWrites() throws {
        let memory = try Self.tree(["memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes"])
        let cpu = try Self.tree(["cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us"])
        let cpuset = try Self.tree(["cpuset.cpus"])
        let pids = try Self.tree(["pids.max"])
        let blkio = try Self.tree(["blkio.weight", "blkio.throttle.read_bps_device", "blkio.throttle.write_iops_device"])
        let devices = try Self.tree(["devices.allow", "devices.deny"])
        let all = [memory, cpu, cpuset, pids, blkio, devices]
        defer { for dir in all { try? FileManager.default.removeItem(atPath: dir) } }
        var r = Self.resources
        r.devices = [.init(allow: false, access: "rwm"), .init(allow: true, type: "c", major: 10, minor: nil, access: "rw")]
        let cgroup = CgroupV1(paths: ["memory": memory, "cpu": cpu, "cpuset": cpuset, "pids": pids, "blkio": blkio, "devices": devices])
        try cgroup.apply(r, defaultDevices: [])
        let expected: [(String, String, String)] = [
            (memory, "memory.limit_in_bytes", "67108864"), (memory, "memory.memsw.limit_in_bytes", "134217728"),
            (memory, "memory.soft_limit_in_bytes", "33554432"), (cpu, "cpu.shares", "1024"), (cpu, "cpu.cfs_period_us", "100000"),
            (cpu, "cpu.cfs_quota_us", "150000"), (cpuset, "cpuset.cpus", "0-1"), (pids, "pids.max", "100"),
            (blkio, "blkio.weight", "500"), (blkio, "blkio.throttle.read_bps_device", "8:0 1048576"),
            (blkio, "blkio.throttle.write_iops_device", "8:16 50"), (devices, "devices.deny", "a"), (devices, "devices.allow", "c 10:* rw"),
        ]
        for (dir, file, value) in expected { #expect(Self.read(dir, file) == value, "\(file)") }
    }
}
