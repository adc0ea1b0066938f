import BerthAPITypes
import BerthNetwork
import Foundation

/// `--link NAME[:ALIAS]`, as dockerd has it. On the default bridge (legacy links) the target must
/// be there and running when the linking container starts, which then gets the target's
/// address in `/etc/hosts` under the alias, its name and short ID, and `ALIAS_PORT_…`,
/// `ALIAS_NAME` and `ALIAS_ENV_…` variables; on a user-defined network a link is a name only the
/// linking container resolves, through the embedded DNS.
struct ContainerLink: Sendable, Equatable {
    /// The target as the user named it (a name or ID).
    var target: String
    var alias: String

    /// `NAME[:ALIAS]`, or dockerd's stored form `/NAME:/LINKER/ALIAS`.
    init(_ text: String) throws {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts.count == 1 || !parts[1].isEmpty else {
            throw EngineError(.badRequest, "invalid link format \(text): use NAME[:ALIAS]")
        }
        target = parts[0].hasPrefix("/") ? String(parts[0].dropFirst()) : parts[0]
        let alias = parts.count == 2 ? parts[1] : target
        self.alias = alias.split(separator: "/").last.map(String.init) ?? alias
    }

    /// dockerd's stored form in `HostConfig.Links`: `/TARGET:/LINKER/ALIAS`.
    func stored(linker: String) -> String { "/\(target):/\(linker)/\(alias)" }
}

extension ContainerEngine {
    /// At create: the links of `host` (legacy, on the default bridge) and of each endpoint (on
    /// user-defined networks), their targets existing. `HostConfig.Links` on a user-defined
    /// network mode become that network's endpoint links, as the docker CLI sends them.
    func checkLinks(_ host: inout HostConfig, _ networking: inout NetworkingConfig?, linker: String) throws {
        let legacy = try (host.links ?? []).map(ContainerLink.init)
        let endpointLinks = try (networking?.endpointsConfig ?? [:]).values.flatMap { try ($0.links ?? []).map(ContainerLink.init) }
        for link in legacy + endpointLinks {
            guard (try? resolve(link.target)) != nil else { throw EngineError(.notFound, "could not get container for \(link.target)") }
        }
        guard !legacy.isEmpty else { return }
        let mode = host.networkMode ?? "default"
        if mode == "host" { throw EngineError(.badRequest, "conflicting options: host type networking can't be used with links. This would result in undefined behavior") }
        if mode.hasPrefix("container:") {
            throw EngineError(.badRequest, "conflicting options: container type network can't be used with links. This would result in undefined behavior")
        }
        if mode == "none" { throw EngineError(.badRequest, "conflicting options: --link needs a network: the container's network mode is none") }
        if mode == "bridge" {
            host.links = legacy.map { $0.stored(linker: linker) }
        } else if var config = networking, var endpoints = config.endpointsConfig,
                  let primary = endpoints.first(where: { $0.key == mode || $0.value.networkID.map { $0.hasPrefix(mode) } ?? false })?.key {
            let present = endpoints[primary]?.links ?? []
            let links = present + legacy.map { "\($0.target):\($0.alias)" }.filter { !present.contains($0) }
            endpoints[primary]?.links = links
            config.endpointsConfig = endpoints
            networking = config
            host.links = nil
        }
    }

    /// The legacy links' targets, each running on the default bridge (dockerd's refusals otherwise).
    private func legacyTargets(_ record: ContainerRecord) throws -> [(link: ContainerLink, target: ContainerRecord, address: String)] {
        try (record.hostConfig.links ?? []).map { text in
            let link = try ContainerLink(text)
            guard let id = try? resolve(link.target), let target = containers[id] else {
                throw EngineError(.notFound, "could not get container for \(link.target)")
            }
            guard target.state.running else {
                throw EngineError(.internalError, "Cannot link to a non running container: /\(target.name) AS /\(record.name)/\(link.alias)")
            }
            guard let address = target.endpoints["bridge"]?.address else {
                throw EngineError(.internalError, "Cannot link to /\(target.name), as it does not belong to the default network")
            }
            return (link, target, address)
        }
    }

    /// The variables a legacy link gives the linking container (before its own, which win).
    func linkEnvironment(_ record: ContainerRecord) throws -> [String] {
        try legacyTargets(record).flatMap { link, target, address in
            let prefix = link.alias.uppercased().replacingOccurrences(of: "-", with: "_")
            // Ports by number, TCP before UDP on one number; the first is ALIAS_PORT.
            let ports = Self.linkPorts(target.config.exposedPorts ?? [])
            var env: [String] = []
            if let first = ports.first { env.append("\(prefix)_PORT=\(first.proto)://\(address):\(first.number)") }
            for port in ports {
                let key = "\(prefix)_PORT_\(port.number)_\(port.proto.uppercased())"
                env += ["\(key)=\(port.proto)://\(address):\(port.number)", "\(key)_ADDR=\(address)", "\(key)_PORT=\(port.number)", "\(key)_PROTO=\(port.proto)"]
            }
            env.append("\(prefix)_NAME=/\(record.name)/\(link.alias)")
            for entry in target.config.env ?? [] {
                guard let equals = entry.firstIndex(of: "=") else { continue }
                let name = entry[..<equals]
                // Build-time variables of the image, not the target's own.
                if name == "HOME" || name == "PATH" { continue }
                env.append("\(prefix)_ENV_\(name)=\(entry[entry.index(after: equals)...])")
            }
            return env
        }
    }

    /// The record the runtime's spec is built from: the link variables before the container's
    /// own environment, a variable of its own winning over a link's.
    func withLinkEnvironment(_ record: ContainerRecord) throws -> ContainerRecord {
        let links = try linkEnvironment(record)
        guard !links.isEmpty else { return record }
        let own = record.config.env ?? []
        let names = Set(own.map { $0.split(separator: "=", maxSplits: 1).first.map(String.init) ?? $0 })
        var running = record
        running.config.env = links.filter { !names.contains($0.split(separator: "=", maxSplits: 1).first.map(String.init) ?? $0) } + own
        return running
    }

    /// Exposed ports by number, TCP before the others on one number.
    private static func linkPorts(_ keys: [String]) -> [(number: Int, proto: String)] {
        var ports: [(number: Int, proto: String)] = []
        for key in keys {
            let parts = key.split(separator: "/")
            guard let number = parts.first.flatMap({ Int($0) }) else { continue }
            ports.append((number, parts.count > 1 ? String(parts[1]) : "tcp"))
        }
        return ports.sorted { left, right in
            if left.number != right.number { return left.number < right.number }
            if (left.proto == "tcp") != (right.proto == "tcp") { return left.proto == "tcp" }
            return left.proto < right.proto
        }
    }

    /// `/etc/hosts` lines of the legacy links' targets running now: address, alias, short ID, name.
    func linkHostLines(_ record: ContainerRecord) -> [String] {
        (record.hostConfig.links ?? []).compactMap { text in
            guard let link = try? ContainerLink(text), let id = try? resolve(link.target), let target = containers[id],
                  target.state.running, let address = target.endpoints["bridge"]?.address else { return nil }
            let names = [link.alias, String(target.id.prefix(12)), target.name].reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            return "\(address)\t" + names.joined(separator: " ")
        }
    }

    /// The start checks of legacy links (targets there, running, on the default bridge).
    func checkLegacyLinks(_ record: ContainerRecord) throws { _ = try legacyTargets(record) }

    /// The aliases an endpoint's links give the container on its network, to target container IDs.
    func endpointLinks(_ settings: EndpointSettings?) -> [String: String] {
        var links: [String: String] = [:]
        for text in settings?.links ?? [] {
            if let link = try? ContainerLink(text), let id = try? resolve(link.target) { links[link.alias.lowercased()] = id }
        }
        return links
    }

    /// A container came up on the default bridge: the running containers linked to it see its
    /// new address (dockerd rewrites their `/etc/hosts` too).
    func refreshLinkers(of record: ContainerRecord) {
        for linker in containers.values where linker.state.running && linker.id != record.id {
            let targets = (linker.hostConfig.links ?? []).compactMap { try? ContainerLink($0) }.compactMap { try? resolve($0.target) }
            guard targets.contains(record.id) else { continue }
            EngineLog.attempt("update the links of \(linker.name)") { try updateEtcFiles(linker) }
        }
    }
}
