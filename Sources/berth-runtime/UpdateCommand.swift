import ArgumentParser
import BerthOCI
import BerthRuntime
import BerthSystem
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Change a running container's resource limits.")
    @OptionGroup var global: GlobalOptions
    @Option(name: [.short, .long], help: "JSON resources file (runtime-spec linux.resources); - for stdin.") var resources: String?
    @Option(help: "Memory limit in bytes.") var memory: Int64?
    @Option(name: .customLong("memory-reservation"), help: "Memory soft limit in bytes.") var memoryReservation: Int64?
    @Option(name: .customLong("memory-swap"), help: "Memory plus swap limit in bytes.") var memorySwap: Int64?
    @Option(name: .customLong("cpu-shares"), help: "CPU shares (relative weight).") var cpuShares: UInt64?
    @Option(name: .customLong("cpu-quota"), help: "CPU CFS quota in microseconds.") var cpuQuota: Int64?
    @Option(name: .customLong("cpu-period"), help: "CPU CFS period in microseconds.") var cpuPeriod: UInt64?
    @Option(name: .customLong("cpuset-cpus"), help: "CPUs allowed (0-3, 0,1).") var cpusetCpus: String?
    @Option(name: .customLong("cpuset-mems"), help: "Memory nodes allowed.") var cpusetMems: String?
    @Option(name: .customLong("pids-limit"), help: "Maximum number of processes.") var pidsLimit: Int64?
    @Option(name: .customLong("blkio-weight"), help: "Block I/O weight (10-1000).") var blkioWeight: UInt16?
    @Argument(help: "Container id.") var id: String

    func run() throws {
        var r = RuntimeSpec.Resources()
        if let resources {
            let data: Data
            if resources == "-" {
                data = Data(try FileDescriptors.readAll(0))
            } else if let d = FileManager.default.contents(atPath: resources) {
                data = d
            } else {
                throw ValidationError("cannot read \(resources)")
            }
            do { r = try JSONDecoder().decode(RuntimeSpec.Resources.self, from: data) } catch {
                throw ValidationError("invalid resources JSON: \(error)")
            }
        }
        if memory != nil || memoryReservation != nil || memorySwap != nil {
            var m = r.memory ?? .init()
            if let memory { m.limit = memory }
            if let memoryReservation { m.reservation = memoryReservation }
            if let memorySwap { m.swap = memorySwap }
            r.memory = m
        }
        if cpuShares != nil || cpuQuota != nil || cpuPeriod != nil || cpusetCpus != nil || cpusetMems != nil {
            var c = r.cpu ?? .init()
            if let cpuShares { c.shares = cpuShares }
            if let cpuQuota { c.quota = cpuQuota }
            if let cpuPeriod { c.period = cpuPeriod }
            if let cpusetCpus { c.cpus = cpusetCpus }
            if let cpusetMems { c.mems = cpusetMems }
            r.cpu = c
        }
        if let pidsLimit { r.pids = .init(limit: pidsLimit) }
        if let blkioWeight { r.blockIO = .init(weight: blkioWeight) }
        try global.runtime().update(id: id, resources: r)
    }
}
