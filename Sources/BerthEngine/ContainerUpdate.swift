import BerthOCI
import BerthSystem
import Foundation

/// `docker update`: new resource limits and restart policy, applied live through the runtime.
extension ContainerEngine {
    /// The `HostConfig` keys `POST /containers/{id}/update` may change.
    static let updatableKeys = ["CpuShares", "Memory", "MemorySwap", "MemoryReservation", "NanoCpus", "CpuPeriod", "CpuQuota",
                                "CpusetCpus", "CpusetMems", "PidsLimit", "BlkioWeight", "CpuRealtimePeriod", "CpuRealtimeRuntime"]

    public func update(_ reference: String, body requestBody: JSONValue) async throws -> [String] {
        let body = GoJSONKeys.hostConfig(requestBody)
        try ConfigValidator.validateUpdate(body)
        // Other settings need the container made again: refused by name, never dropped
        // (dockerd ignores them; clients send them zero, which is "unchanged").
        for key in body.object?.keys.sorted() ?? [] where !Self.updatableKeys.contains(key) && key != "RestartPolicy"
            && ConfigValidator.hostConfigFields[key] != nil && ConfigValidator.isSet(body[key]) {
            throw EngineError(.badRequest, "HostConfig.\(key) cannot be changed by update: create the container again with it")
        }
        let id = try resolve(reference)
        let record = containers[id]!
        var host = record.hostConfig.json
        try Self.checkCPUConflicts(requested: body, current: record.hostConfig)
        // As dockerd: a zero or empty field means "leave as it is".
        for key in Self.updatableKeys {
            guard let value = body[key] else { continue }
            let isZero = value.isNull || value.int == 0 || value.string == ""
            if !isZero { host[key] = value }
        }
        var typed = HostConfig(json: host)
        let warnings = ConfigValidator.adaptToHost(&typed)
        host = typed.json
        // The limits as they will be, not only the request's: an update that sets a CPU period
        // on a container limited by NanoCpus conflicts with what it already has.
        try ConfigValidator.validateResources(host.object ?? [:])
        let memory = host["Memory"]?.int ?? 0, swap = host["MemorySwap"]?.int ?? 0
        if let requested = body["Memory"]?.int, requested != 0 {
            if requested < 6 * 1024 * 1024 { throw EngineError(.badRequest, "Minimum memory limit allowed is 6MB") }
            if (body["MemorySwap"]?.int ?? 0) == 0, swap > 0, requested > swap {
                throw EngineError(.badRequest, "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time")
            }
        }
        if swap > 0, memory > swap {
            throw EngineError(.badRequest, "Minimum memoryswap limit should be larger than memory limit, see usage")
        }
        if let policy = body["RestartPolicy"], let name = policy["Name"]?.string, !name.isEmpty {
            if name != "no", record.autoRemove {
                throw EngineError(.badRequest, "Restart policy cannot be updated because AutoRemove is enabled for the container")
            }
            host["RestartPolicy"] = policy
        }
        if record.state.running {
            let typed = HostConfig(json: host)
            var resources = SpecBuilder.resources(typed, privileged: typed.privileged ?? false)
            resources.devices = nil
            // A container that exited meanwhile takes the limits for its next start, as a stopped one does.
            _ = try await shims.update(record, resources: resources, scratch: scratchPath("update"))
        }
        // Re-read after the runtime call: the state may have changed meanwhile (an exit).
        guard var current = containers[id] else { throw EngineError.noSuchContainer(reference) }
        current.hostConfig = HostConfig(json: host)
        try save(current)
        await publish("update", current)
        return warnings
    }

    /// NanoCpus is a quota and a period in one: once one form is set, the other cannot be
    /// updated (dockerd's rule and words).
    static func checkCPUConflicts(requested body: JSONValue, current: HostConfig) throws {
        let nano = body["NanoCpus"]?.int ?? 0, period = body["CpuPeriod"]?.int ?? 0, quota = body["CpuQuota"]?.int ?? 0
        if nano > 0 && (current.cpuPeriod ?? 0) > 0 {
            throw EngineError(.badRequest, "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set")
        }
        if nano > 0 && (current.cpuQuota ?? 0) > 0 {
            throw EngineError(.badRequest, "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set")
        }
        if period > 0 && (current.nanoCpus ?? 0) > 0 {
            throw EngineError(.badRequest, "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set")
        }
        if quota > 0 && (current.nanoCpus ?? 0) > 0 {
            throw EngineError(.badRequest, "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
        }
    }
}
