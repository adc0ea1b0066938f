import BerthImages
import BerthOCI
import Foundation

extension ContainerEngine {
    /// `GET /containers/{id}/json`: Docker's full inspect object. Sizes (a walk of the
    /// container's layer) are measured off the actor.
    public nonisolated func inspect(_ reference: String, size: Bool = false) async throws -> ContainerInspectResponse {
        var inspect = try await inspectBody(reference)
        if size, let id = inspect.id, let image = inspect.image {
            let sizes = await layerSizes(id, image: image)
            inspect.sizeRw = sizes.rw
            inspect.sizeRootFs = sizes.rootFs
        }
        return inspect
    }

    private func inspectBody(_ reference: String) throws -> ContainerInspectResponse {
        let record = try record(reference)
        let driver = images.snapshots.driver == .overlay ? "overlay2" : "vfs"
        var inspect = ContainerInspectResponse()
        inspect.id = record.id
        inspect.created = record.created
        inspect.path = record.path
        inspect.args = record.args
        inspect.state = record.state.model
        inspect.image = record.image
        inspect.resolvConfPath = record.resolvConfPath
        inspect.hostnamePath = record.hostnamePath
        inspect.hostsPath = record.hostsPath
        inspect.logPath = record.logPath
        inspect.name = "/" + record.name
        inspect.restartCount = Int64(record.restartCount)
        inspect.driver = driver
        inspect.platform = "linux"
        inspect.mountLabel = ""
        inspect.processLabel = ""
        inspect.appArmorProfile = ""
        if record.execIDs.isEmpty { inspect.nullFields.insert("ExecIDs") } else { inspect.execIDs = record.execIDs }
        inspect.hostConfig = record.hostConfig
        var graph = DriverData()
        graph.name = driver
        graph.data = ["UpperDir": images.snapshots.containerChanges(record.id), "MergedDir": images.snapshots.containerRoot(record.id),
                      "WorkDir": images.snapshots.containerWork(record.id)]
        inspect.graphDriver = graph
        inspect.mounts = mounts(record)
        inspect.config = record.config
        inspect.networkSettings = networkSettings(record)
        return inspect
    }

    /// The container's place on its networks: under `Networks`, each network it is on with its
    /// address, gateway and MAC while it runs (empty fields when stopped, as dockerd shows them);
    /// the legacy top-level fields from its first network.
    private func networkSettings(_ record: ContainerRecord) -> NetworkSettings {
        var networks: [String: EndpointSettings] = [:]
        for name in record.networkNames.isEmpty ? [record.networkMode] : record.networkNames {
            networks[name] = endpointSettings(record, network: name)
        }
        let first = (record.networkNames.first ?? record.networkMode)
        let primary = networks[first] ?? EndpointSettings()
        var settings = NetworkSettings()
        settings.nullFields = ["SecondaryIPAddresses", "SecondaryIPv6Addresses"]
        settings.bridge = ""
        settings.sandboxID = ""
        settings.sandboxKey = ""
        settings.ports = PublishedPorts.settings(record.config, record.publishedPorts)
        settings.hairpinMode = false
        settings.linkLocalIPv6Address = ""
        settings.linkLocalIPv6PrefixLen = 0
        settings.endpointID = ""
        settings.gateway = primary.gateway ?? ""
        settings.globalIPv6Address = primary.globalIPv6Address ?? ""
        settings.globalIPv6PrefixLen = primary.globalIPv6PrefixLen ?? 0
        settings.ipAddress = primary.ipAddress ?? ""
        settings.ipPrefixLen = primary.ipPrefixLen ?? 0
        settings.ipv6Gateway = primary.ipv6Gateway ?? ""
        settings.macAddress = primary.macAddress ?? ""
        settings.networks = networks
        return settings
    }

    /// One network's entry of `NetworkSettings.Networks`.
    private func endpointSettings(_ record: ContainerRecord, network: String) -> EndpointSettings {
        let live = record.endpoints[network]
        let requested = record.endpointSettings(network)
        var endpoint = EndpointSettings()
        endpoint.nullFields = ["IPAMConfig", "Links", "Aliases", "DriverOpts", "DNSNames"]
        endpoint.aliases = requested?.aliases
        endpoint.ipamConfig = requested?.ipamConfig
        endpoint.links = requested?.links
        // The names the embedded DNS answers for it, on a user-defined network.
        if let live, network != "bridge" {
            endpoint.dnsNames = [record.name, String(record.id.prefix(12))] + (live.aliases ?? [])
        }
        endpoint.macAddress = live?.macAddress ?? requested?.macAddress ?? ""
        endpoint.networkID = live?.networkID ?? requested?.networkID ?? ""
        endpoint.endpointID = ""
        endpoint.gateway = live?.gateway ?? ""
        endpoint.ipAddress = live?.address ?? ""
        endpoint.ipPrefixLen = Int64(live?.prefixLength ?? 0)
        endpoint.ipv6Gateway = live?.gateway6 ?? ""
        endpoint.globalIPv6Address = live?.address6 ?? ""
        endpoint.globalIPv6PrefixLen = Int64(live?.prefixLength6 ?? 0)
        endpoint.gwPriority = requested?.gwPriority ?? 0
        return endpoint
    }

    private func mounts(_ record: ContainerRecord) -> [MountPoint] {
        let host = record.hostConfig
        let binds = ((try? SpecBuilder.binds(host)) ?? []).filter { !$0.isVolume }
        let volumes = (record.volumeMounts ?? []).map { volume in
            var point = MountPoint()
            point.type = "volume"
            point.name = volume.name
            point.source = self.volumes.mountpoint(volume.name)
            point.destination = volume.destination
            point.driver = "local"
            point.mode = volume.mode
            point.rw = !volume.readOnly
            point.propagation = ""
            return point
        }
        return binds.map { bind in
            var point = MountPoint()
            point.type = "bind"
            point.source = bind.source
            point.destination = bind.destination
            point.mode = bind.mode
            point.rw = !bind.readOnly
            point.propagation = bind.propagation
            return point
        } + ((try? SpecBuilder.mountEntries(host)) ?? []).filter { !$0.isVolume }.map(\.inspectEntry) + volumes
    }

    /// The container's writable layer, and that plus its image: a walk of the layer's files, on
    /// a thread of its own (a large layer takes seconds, which the actor must not wait for).
    nonisolated func layerSizes(_ id: String, image: String) async -> (rw: Int64, rootFs: Int64) {
        let upper = images.snapshots.containerChanges(id)
        let imageSize = (try? images.resolve(image).size) ?? 0
        let rw = await BlockingWork.run { Self.directorySize(upper) }
        return (rw, rw + imageSize)
    }

    /// `GET /containers/json`: newest first, Docker's summary objects.
    public nonisolated func list(all: Bool, limit: Int?, size: Bool, filters: [String: [String]]) async throws -> [ContainerSummary] {
        var summaries = try await summaries(all: all, limit: limit, filters: filters)
        if size {
            for index in summaries.indices {
                guard let id = summaries[index].id, let image = summaries[index].imageID else { continue }
                let sizes = await layerSizes(id, image: image)
                summaries[index].sizeRw = sizes.rw
                summaries[index].sizeRootFs = sizes.rootFs
            }
        }
        return summaries
    }

    private func summaries(all: Bool, limit: Int?, filters: [String: [String]]) throws -> [ContainerSummary] {
        var records = containers.values.sorted { $0.created > $1.created }
        if !all && limit == nil && filters["status"] == nil && filters["exited"] == nil {
            records = records.filter { $0.state.running || $0.state.status == .restarting }
        }
        records = try records.filter { try matches($0, filters) }
        if let limit, limit > 0 { records = Array(records.prefix(limit)) }
        return records.map { record in
            var summary = ContainerSummary()
            summary.id = record.id
            summary.names = ["/" + record.name]
            summary.image = record.imageName
            summary.imageID = record.image
            summary.command = ([record.path] + record.args).joined(separator: " ")
            summary.created = Date.parseTimestamp(record.created)?.unixSeconds ?? 0
            summary.ports = PublishedPorts.summary(record.config, record.publishedPorts)
            summary.labels = record.labels
            summary.state = record.state.status.rawValue
            summary.status = statusText(record)
            var host = ContainerSummaryHostConfig()
            host.networkMode = record.networkMode
            summary.hostConfig = host
            var networks = ContainerSummaryNetworkSettings()
            networks.networks = Dictionary(uniqueKeysWithValues: (record.networkNames.isEmpty ? [record.networkMode] : record.networkNames).map { name in
                (name, endpointSettings(record, network: name))
            })
            summary.networkSettings = networks
            summary.mounts = mounts(record)
            return summary
        }
    }

    func statusText(_ record: ContainerRecord) -> String {
        let now = Date()
        func since(_ text: String) -> String {
            HumanDuration.describe(now.timeIntervalSince(Date.parseTimestamp(text) ?? now))
        }
        switch record.state.status {
        case .created: return "Created"
        case .running:
            switch record.state.health?.status {
            case "starting"?: return "Up \(since(record.state.startedAt)) (health: starting)"
            case let status?: return "Up \(since(record.state.startedAt)) (\(status))"
            case nil: return "Up \(since(record.state.startedAt))"
            }
        case .paused: return "Up \(since(record.state.startedAt)) (Paused)"
        case .restarting: return "Restarting (\(record.state.exitCode)) \(since(record.state.finishedAt)) ago"
        case .removing: return "Removal In Progress"
        case .dead: return "Dead"
        case .exited: return "Exited (\(record.state.exitCode)) \(since(record.state.finishedAt)) ago"
        }
    }

    private func matches(_ record: ContainerRecord, _ filters: [String: [String]]) throws -> Bool {
        for (key, values) in filters where !values.isEmpty {
            let ok: Bool
            switch key {
            case "health":
                ok = values.contains(record.state.health?.status ?? "none")
            case "status":
                for value in values where !["created", "restarting", "running", "removing", "paused", "exited", "dead"].contains(value) {
                    throw EngineError(.badRequest, "invalid filter 'status=\(value)'")
                }
                ok = values.contains(record.state.status.rawValue)
            case "name":
                ok = values.contains { pattern in
                    let bare = pattern.hasPrefix("/") ? String(pattern.dropFirst()) : pattern
                    guard let regex = try? Regex(bare) else { return record.name.contains(bare) }
                    return record.name.contains(regex)
                }
            case "id": ok = values.contains { record.id.hasPrefix($0) }
            case "label":
                ok = LabelFilter.matchAll(values, record.labels)
            case "ancestor":
                ok = values.contains { ancestor in
                    guard let image = try? images.resolve(ancestor) else { return false }
                    return image.id.description == record.image
                }
            case "exited":
                ok = record.state.status == .exited && values.contains(String(record.state.exitCode))
            case "before", "since":
                let others = try values.map { try self.record($0) }
                ok = others.allSatisfy { key == "before" ? record.created < $0.created : record.created > $0.created }
            case "network": ok = values.contains(record.networkMode)
            case "is-task": ok = values.contains("false")
            default:
                throw EngineError(.badRequest, "invalid filter '\(key)'")
            }
            if !ok { return false }
        }
        return true
    }

    /// `GET /containers/{id}/top`: `ps` on the host, limited to the container's processes.
    public func top(_ reference: String, psArguments: String) async throws -> ContainerTopResponse {
        let id = try resolve(reference)
        let record = containers[id]!
        guard record.state.running else { throw EngineError(.conflict, "container \(id) is not running") }
        let pids = try await shims.processes(record)
        let arguments = psArguments.isEmpty ? ["-ef"] : psArguments.split(separator: " ").map(String.init)
        let ps = await Subprocess.run(["/bin/ps"] + arguments)
        guard ps.status == 0 else { throw EngineError(.internalError, "ps \(psArguments): \(ps.output)") }
        var lines = ps.output.split(separator: "\n").map(String.init)
        guard !lines.isEmpty else { throw EngineError(.internalError, "ps printed nothing") }
        let titles = lines.removeFirst().split(separator: " ").map(String.init)
        guard let pidColumn = titles.firstIndex(of: "PID") else {
            throw EngineError(.internalError, "couldn't find PID field in ps output")
        }
        let wanted = Set(pids)
        let processes: [JSONValue] = lines.compactMap { line in
            let fields = line.split(separator: " ", maxSplits: titles.count - 1).map(String.init)
            guard fields.count == titles.count, let pid = Int(fields[pidColumn]), wanted.contains(pid) else { return nil }
            return .array(fields.map(JSONValue.string))
        }
        var response = ContainerTopResponse()
        response.titles = titles
        response.processes = .array(processes)
        return response
    }

    static func directorySize(_ path: String) -> Int64 {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        while let entry = enumerator.nextObject() as? String {
            if let size = (try? FileManager.default.attributesOfItem(atPath: path + "/" + entry))?[.size] as? Int64 { total += size }
        }
        return total
    }
}
