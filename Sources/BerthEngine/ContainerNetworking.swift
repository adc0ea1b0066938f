import BerthAPITypes
import BerthNetwork
import Foundation

/// A container's place on its networks: its endpoints at its start and exit, and `network
/// connect`/`disconnect` while it runs or is stopped. Which network gives the default route is
/// chosen among all of them (`GwPriority`, then the network name, as dockerd), and the published
/// ports follow it.
extension ContainerEngine {
    /// At a start: an endpoint on each of the container's networks (`eth0`, `eth1`, … in their
    /// order), the default route and the published ports, and its `/etc/hosts` and resolv.conf.
    /// On failure the endpoints made so far are in `record` for the caller to release.
    func attachNetworks(_ record: inout ContainerRecord) async throws {
        let namespace = NetworkNamespace(pid: record.state.pid)
        for (index, network) in record.networkNames.enumerated() {
            record.endpoints[network] = try await networks.connect(network, container: record.id, name: record.name, namespace: namespace,
                                                                   interface: "eth\(index)", settings: record.endpointSettings(network),
                                                                   links: endpointLinks(record.endpointSettings(network)), upstreams: record.dnsUpstreams)
        }
        try await updateGateway(&record, namespace: namespace, starting: true)
        try updateEtcFiles(record)
    }

    /// Releases what `attachNetworks` gave (the namespace is gone, or going).
    func detachNetworks(_ record: ContainerRecord) async {
        for endpoint in record.endpoints.values {
            await EngineLog.attempt("release the network of \(record.name)") { try await networks.disconnect(record.id, endpoint) }
        }
    }

    /// The default route through the network chosen for it, and the published ports on that
    /// network if it is a bridge (else on the first bridge the container is on). At a start a
    /// container with ports and no bridge network is refused; later, the ports go when the last
    /// bridge does.
    private func updateGateway(_ record: inout ContainerRecord, namespace: NetworkNamespace, starting: Bool) async throws {
        let priorities = (record.networkingConfig?.endpointsConfig ?? [:]).compactMapValues(\.gwPriority)
        let chosen = await networks.gatewayNetwork(record.endpoints, priorities: priorities)
        try await networks.route(namespace, through: chosen.flatMap { record.endpoints[$0] })

        let requests = try PublishedPorts.requests(record.config, record.hostConfig)
        guard !requests.isEmpty else { return }
        var bridges: [String] = []
        for name in [chosen].compactMap({ $0 }) + record.networkNames {
            if let endpoint = record.endpoints[name], await networks.canPublish(on: endpoint), !bridges.contains(name) { bridges.append(name) }
        }
        let holder = record.endpoints.first { !($0.value.ports ?? []).isEmpty }?.key
        if starting && bridges.isEmpty && chosen == nil {
            throw EngineError(.badRequest, "published ports need a network with a way out: \(record.networkNames.joined(separator: ", ")) is internal")
        }
        let target = bridges.first ?? (starting ? chosen : nil)
        guard target != holder else { return }
        let mappings: [PortMapping]
        if let holder, let endpoint = record.endpoints[holder] {
            mappings = endpoint.ports ?? []
            try await networks.unpublish(record.id, from: endpoint)
            record.endpoints[holder]?.ports = nil
        } else {
            // A port asked for without an address goes where the network binds (host_binding_ipv4).
            var binding: IPv4Address?
            if let target, let endpoint = record.endpoints[target] { binding = await networks.hostBinding(for: endpoint) }
            let bound = requests.map { request in
                var request = request
                if request.hostAddress == nil { request.hostAddress = binding }
                return request
            }
            mappings = try await networks.allocatePorts(bound, container: record.id, name: record.name)
        }
        guard let target, let endpoint = record.endpoints[target] else { return }
        // On a dual-stack network a port published on every address is on the IPv6 ones too.
        var published = mappings.filter { !$0.isIPv6 }
        if endpoint.address6 != nil {
            published += published.filter { $0.hostIP == "0.0.0.0" }.map { PortMapping(hostIP: "::", hostPort: $0.hostPort, proto: $0.proto, containerPort: $0.containerPort) }
        }
        // A non-bridge target (a start on macvlan only) is refused here with the reason.
        try await networks.publish(record.id, published, on: endpoint)
        record.endpoints[target]?.ports = published
    }

    // MARK: network connect, disconnect

    /// `POST /networks/{id}/connect`: a running container gets an interface on the network at
    /// once (and its gateway may move to it); a stopped one is put on it for its next start.
    public func connect(network reference: String, container: String, settings requested: EndpointSettings?) async throws {
        try await changeNetworks(of: container, reference) { record, network in try await self.connect(&record, to: network, requested) }
    }

    private func connect(_ record: inout ContainerRecord, to network: NetworkDefinition, _ requested: EndpointSettings?) async throws {
        let id = record.id
        if record.networkNames.contains(network.name) {
            throw EngineError(.forbidden, "endpoint with name \(record.name) already exists in network \(network.name)")
        }
        if let requested { try ConfigValidator.refuseEndpointSettings(requested, network: network.name, field: "EndpointConfig") }
        let settings = try checkEndpoint(requested ?? EndpointSettings(), on: network)
        var configured = record.networkingConfig ?? NetworkingConfig()
        var endpoints = configured.endpointsConfig ?? [:]
        if endpoints.isEmpty, let primary = record.networkNames.first { endpoints[primary] = EndpointSettings() }
        endpoints[network.name] = settings
        configured.endpointsConfig = endpoints
        guard record.state.running, record.state.pid > 0 else {
            record.networkingConfig = configured
            try save(record)
            return
        }
        let pid = record.state.pid
        let used = Set(record.endpoints.values.map(\.interfaceName))
        let interface = (0...).lazy.map { "eth\($0)" }.first { !used.contains($0) }!
        let endpoint = try await networks.connect(network.name, container: id, name: record.name, namespace: NetworkNamespace(pid: pid),
                                                  interface: interface, settings: settings, links: endpointLinks(settings), upstreams: record.dnsUpstreams)
        // It may have exited meanwhile: its exit released what the record held, not this.
        guard var current = containers[id], current.state.running, current.state.pid == pid else {
            await EngineLog.attempt("release the network of \(record.name)") { try await networks.disconnect(id, endpoint) }
            throw EngineError(.conflict, "container \(record.name) stopped while it was being connected to \(network.name)")
        }
        current.networkingConfig = configured
        current.endpoints[network.name] = endpoint
        try save(current)
        try await rearrange(&current, pid: pid)
    }

    /// `POST /networks/{id}/disconnect`: a running container loses its interface there (and its
    /// gateway moves to another network); a stopped one is taken off it.
    /// (`force` is accepted: Berth keeps no endpoint of a removed container to force away.)
    public func disconnect(network reference: String, container: String, force: Bool) async throws {
        try await changeNetworks(of: container, reference) { record, network in try await self.disconnect(&record, from: network) }
    }

    private func disconnect(_ record: inout ContainerRecord, from network: NetworkDefinition) async throws {
        let id = record.id
        guard record.networkNames.contains(network.name) else {
            throw EngineError(.forbidden, "container \(id) is not connected to network \(network.name)")
        }
        var configured = record.networkingConfig ?? NetworkingConfig()
        var endpoints = configured.endpointsConfig ?? [record.networkMode: EndpointSettings()]
        endpoints[network.name] = nil
        configured.endpointsConfig = endpoints
        record.networkingConfig = configured
        guard let endpoint = record.endpoints.removeValue(forKey: network.name), record.state.running, record.state.pid > 0 else {
            try save(record)
            return
        }
        try save(record)
        try await networks.disconnect(id, endpoint, namespace: NetworkNamespace(pid: record.state.pid))
        try await rearrange(&record, pid: record.state.pid)
    }

    /// Runs `change` on the container's record while no start, copy or other change holds it,
    /// after dockerd's refusals.
    private func changeNetworks(of container: String, _ reference: String,
                                _ change: (inout ContainerRecord, NetworkDefinition) async throws -> Void) async throws {
        let id = try resolve(container)
        let network = try await networks.resolve(reference)
        await waitUntilFree(id)
        occupy(id)
        defer { release(id) }
        guard var record = containers[id] else { throw EngineError.noSuchContainer(container) }
        try refuseNetworkChange(record, network: network)
        try await change(&record, network)
    }

    /// After a live connect or disconnect: the gateway and ports, `/etc/hosts`, resolv.conf.
    private func rearrange(_ record: inout ContainerRecord, pid: Int32) async throws {
        try await updateGateway(&record, namespace: NetworkNamespace(pid: pid), starting: false)
        if let current = containers[record.id], current.state.running, current.state.pid == pid {
            var updated = current
            updated.endpoints = record.endpoints
            try save(updated)
        }
        try updateEtcFiles(record)
    }

    /// What dockerd refuses to connect or disconnect: a container in the host's or another
    /// container's network, or without networking; the host and none networks.
    private func refuseNetworkChange(_ record: ContainerRecord, network: NetworkDefinition) throws {
        if record.networkMode == "host" || network.driver == "host" {
            throw EngineError(.badRequest, "container cannot be disconnected from host network or connected to host network")
        }
        if record.networkMode.hasPrefix("container:") {
            throw EngineError(.badRequest, "container sharing network namespace with another container or host cannot be connected to any other network")
        }
        if record.networkMode == "none" || network.driver == "null" {
            throw EngineError(.badRequest, "container cannot be connected to multiple networks with one of the networks in private (none) mode")
        }
    }
}
