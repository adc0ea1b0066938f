import BerthAPITypes
import BerthNetwork

/// A container's `-p` and `-P` as requests to its network, and its published ports as the API
/// shows them (`NetworkSettings.Ports`, the summary's `Ports`).
enum PublishedPorts {
    /// `PortBindings`, and with `PublishAllPorts` every exposed port without a binding (on an
    /// ephemeral host port). Bad specs are refused with dockerd's words.
    static func requests(_ config: ContainerConfig, _ host: HostConfig) throws -> [PortRequest] {
        var requests: [PortRequest] = []
        var bound: Set<String> = []
        for (key, bindings) in (host.portBindings ?? [:]).sorted(by: { $0.key < $1.key }) {
            bound.insert(key)
            for binding in bindings ?? [PortBinding()] {
                do { requests.append(try PortRequest.parse(key: key, hostIP: binding.hostIp, hostPort: binding.hostPort)) } catch {
                    throw EngineError(.badRequest, "\(error)")
                }
            }
        }
        if host.publishAllPorts == true {
            for key in (config.exposedPorts ?? []).sorted() where !bound.contains(key) {
                do { requests.append(try PortRequest.parse(key: key, hostIP: nil, hostPort: nil)) } catch {
                    throw EngineError(.badRequest, "\(error)")
                }
            }
        }
        return requests
    }

    /// `NetworkSettings.Ports`: each published port with its bindings; exposed ports without
    /// one are `null`, as dockerd shows them.
    static func settings(_ config: ContainerConfig, _ mappings: [PortMapping]) -> [String: [PortBinding]?] {
        var ports: [String: [PortBinding]?] = [:]
        for key in config.exposedPorts ?? [] { ports[key] = .some(nil) }
        for mapping in mappings {
            var binding = PortBinding()
            binding.hostIp = mapping.hostIP
            binding.hostPort = String(mapping.hostPort)
            let key = "\(mapping.containerPort)/\(mapping.proto)"
            ports[key] = .some(((ports[key] ?? nil) ?? []) + [binding])
        }
        return ports
    }

    /// The summary's `Ports`: published ones with their host side, exposed ones without.
    static func summary(_ config: ContainerConfig, _ mappings: [PortMapping]) -> [Port] {
        var ports = mappings.map { mapping in
            var port = Port()
            port.ip = mapping.hostIP
            port.privatePort = Int64(mapping.containerPort)
            port.publicPort = Int64(mapping.hostPort)
            port.type = mapping.proto
            return port
        }
        let published = Set(mappings.map { "\($0.containerPort)/\($0.proto)" })
        for key in (config.exposedPorts ?? []).sorted() where !published.contains(key) {
            let parts = key.split(separator: "/")
            guard let number = parts.first.flatMap({ Int64($0) }) else { continue }
            var port = Port()
            port.privatePort = number
            port.type = parts.count > 1 ? String(parts[1]) : "tcp"
            ports.append(port)
        }
        return ports
    }
}
