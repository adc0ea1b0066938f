import BerthImages
import BerthOCI
import Foundation

extension ContainerEngine {
    /// `GET /containers/{id}/json`: Docker's full inspect object.
    public func inspect(_ reference: String, size: Bool = false) throws -> JSONValue {
        let record = try record(reference)
        var networks: [String: JSONValue] = [:]
        networks[record.networkMode] = .object([
            "IPAMConfig": .null, "Links": .null, "Aliases": .null, "MacAddress": .string(""), "DriverOpts": .null,
            "NetworkID": .string(""), "EndpointID": .string(""), "Gateway": .string(""), "IPAddress": .string(""),
            "IPPrefixLen": .int(0), "IPv6Gateway": .string(""), "GlobalIPv6Address": .string(""),
            "GlobalIPv6PrefixLen": .int(0), "DNSNames": .null,
        ])
        let upper = images.snapshots.containerChanges(record.id)
        var object: [String: JSONValue] = [
            "Id": .string(record.id), "Created": .string(record.created), "Path": .string(record.path),
            "Args": .array(record.args.map(JSONValue.string)), "State": record.state.json, "Image": .string(record.image),
            "ResolvConfPath": .string(record.resolvConfPath), "HostnamePath": .string(record.hostnamePath),
            "HostsPath": .string(record.hostsPath), "LogPath": .string(record.logPath), "Name": .string("/" + record.name),
            "RestartCount": .int(Int64(record.restartCount)), "Driver": .string(images.snapshots.driver == .overlay ? "overlay2" : "vfs"),
            "Platform": .string("linux"), "MountLabel": .string(""), "ProcessLabel": .string(""), "AppArmorProfile": .string(""),
            "ExecIDs": record.execIDs.isEmpty ? .null : .array(record.execIDs.map(JSONValue.string)),
            "HostConfig": record.hostConfig.json,
            "GraphDriver": .object(["Name": .string(images.snapshots.driver == .overlay ? "overlay2" : "vfs"),
                                    "Data": .object(["UpperDir": .string(upper), "MergedDir": .string(images.snapshots.containerRoot(record.id)),
                                                     "WorkDir": .string(images.snapshots.containerWork(record.id))])]),
            "Mounts": .array(mounts(record)), "Config": record.config.json,
            "NetworkSettings": .object([
                "Bridge": .string(""), "SandboxID": .string(""), "SandboxKey": .string(""), "Ports": .object([:]),
                "HairpinMode": .bool(false), "LinkLocalIPv6Address": .string(""), "LinkLocalIPv6PrefixLen": .int(0),
                "SecondaryIPAddresses": .null, "SecondaryIPv6Addresses": .null, "EndpointID": .string(""), "Gateway": .string(""),
                "GlobalIPv6Address": .string(""), "GlobalIPv6PrefixLen": .int(0), "IPAddress": .string(""), "IPPrefixLen": .int(0),
                "IPv6Gateway": .string(""), "MacAddress": .string(""), "Networks": .object(networks),
            ]),
        ]
        if size {
            object["SizeRw"] = .int(directorySize(upper))
            object["SizeRootFs"] = .int(directorySize(upper) + ((try? images.resolve(record.image).size) ?? 0))
        }
        return .object(object)
    }

    private func mounts(_ record: ContainerRecord) -> [JSONValue] {
        let host = record.hostConfig
        let binds = (try? SpecBuilder.binds(host)) ?? []
        return binds.map { bind in
            .object(["Type": .string("bind"), "Source": .string(bind.source), "Destination": .string(bind.destination),
                     "Mode": .string(bind.mode), "RW": .bool(!bind.readOnly), "Propagation": .string(bind.propagation)])
        } + ((try? SpecBuilder.mountEntries(host)) ?? []).map(\.inspectEntry)
    }

    /// `GET /containers/json`: newest first, Docker's summary objects.
    public func list(all: Bool, limit: Int?, size: Bool, filters: [String: [String]]) throws -> [JSONValue] {
        var records = containers.values.sorted { $0.created > $1.created }
        if !all && limit == nil && filters["status"] == nil && filters["exited"] == nil {
            records = records.filter { $0.state.running || $0.state.status == .restarting }
        }
        records = try records.filter { try matches($0, filters) }
        if let limit, limit > 0 { records = Array(records.prefix(limit)) }
        return records.map { record in
            var summary: [String: JSONValue] = [
                "Id": .string(record.id), "Names": .array([.string("/" + record.name)]), "Image": .string(record.imageName),
                "ImageID": .string(record.image), "Command": .string(([record.path] + record.args).joined(separator: " ")),
                "Created": .int(Date.parseTimestamp(record.created)?.unixSeconds ?? 0),
                "Ports": .array([]), "Labels": .object(record.labels.mapValues(JSONValue.string)),
                "State": .string(record.state.status.rawValue), "Status": .string(statusText(record)),
                "HostConfig": .object(["NetworkMode": .string(record.networkMode)]),
                "NetworkSettings": .object(["Networks": .object([record.networkMode: .object(["NetworkID": .string(""), "IPAddress": .string("")])])]),
                "Mounts": .array(mounts(record)),
            ]
            if size {
                let upper = directorySize(images.snapshots.containerChanges(record.id))
                summary["SizeRw"] = .int(upper)
                summary["SizeRootFs"] = .int(upper + ((try? images.resolve(record.image).size) ?? 0))
            }
            return .object(summary)
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
    public func top(_ reference: String, psArguments: String) async throws -> JSONValue {
        let id = try resolve(reference)
        let record = containers[id]!
        guard record.state.running else { throw EngineError(.conflict, "container \(id) is not running") }
        let runtime = try config.runtimePath(record.runtime)
        let listed = await Subprocess.run([runtime, "--root", runtimeRoot(runtime), "ps", "--format", "json", id])
        guard listed.status == 0, let pids = try? JSONDecoder().decode([Int].self, from: Data(listed.output.utf8)) else {
            throw EngineError(.internalError, "list the processes of \(record.name): \(listed.output)")
        }
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
        return .object(["Titles": .array(titles.map(JSONValue.string)), "Processes": .array(processes)])
    }

    func directorySize(_ path: String) -> Int64 {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        while let entry = enumerator.nextObject() as? String {
            if let size = (try? FileManager.default.attributesOfItem(atPath: path + "/" + entry))?[.size] as? Int64 { total += size }
        }
        return total
    }
}
