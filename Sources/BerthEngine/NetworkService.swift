import BerthAPITypes
import BerthNetwork
import BerthSystem
import Foundation

/// The daemon's networks: the predefined `bridge`, `host` and `none`, and user-defined bridge,
/// macvlan and ipvlan networks, each a row of berth.db (`NetworkStore`) served by a
/// `BridgeNetwork` or `MacvlanNetwork`; and which containers are attached to which.
public actor NetworkService {
    struct Attachment: Sendable {
        var name: String
        var endpoint: NetworkEndpoint
        /// The container's process (its namespace) and DNS upstreams, to serve its names again
        /// when berth-dns had to be started anew.
        var pid: Int32 = 0
        var upstreams: [IPv4Address] = []
    }

    private let store: NetworkStore
    private let host: Netlink
    let events: EventBus
    private var definitions: [String: NetworkDefinition] = [:]
    private var bridges: [String: BridgeNetwork] = [:]
    /// macvlan and ipvlan networks, by ID.
    private var sublinks: [String: MacvlanNetwork] = [:]
    private var attachments: [String: [String: Attachment]] = [:]
    /// Each container's published ports (on whichever bridge gives it its gateway).
    private var published: [String: [PortMapping]] = [:]
    /// Names of networks being created (their bridge comes up across a suspension point).
    private var creating: Set<String> = []
    let defaultSettings: BridgeSettings
    /// 127.0.0.11 in the containers of user-defined networks (`berth-dns`).
    let dns: any NameService

    /// Where networks without a subnet of their own get one.
    private let addressPools: [AddressPoolSpec]

    /// `database`: berth.db; `legacyRoot`: where an older daemon kept the definitions as files.
    init(database: String, legacyRoot: String, config: DaemonConfig, host: Netlink, dns: any NameService, events: EventBus) throws {
        store = try NetworkStore(path: database)
        self.host = host
        self.events = events
        self.dns = dns
        addressPools = config.defaultAddressPools
        try store.importFiles(from: legacyRoot)
        for definition in try store.all() { definitions[definition.id] = definition }
        let defaultBridge = try Self.defaultBridge(config, host: host, stored: definitions.values.first { $0.name == "bridge" && $0.predefined },
                                                   others: definitions.values.filter { !$0.predefined })
        defaultSettings = defaultBridge
        // The predefined networks keep their IDs across restarts, as dockerd's do; the default
        // bridge's addresses and name follow daemon.json (`bip`, `fixed-cidr`, `bridge`) as it is now.
        for (name, driver) in [("bridge", "bridge"), ("host", "host"), ("none", "null")] {
            let stored = definitions.values.first { $0.name == name && $0.predefined }
            var definition = stored ?? NetworkDefinition(id: ContainerRecord.newID(), name: name, driver: driver, created: Date().rfc3339Nano, predefined: true)
            if name == "bridge" {
                definition.subnet = defaultBridge.subnet.description
                definition.gateway = defaultBridge.gateway.description
                definition.ipRange = defaultBridge.range?.description
                definition.bridge = defaultBridge.bridge
                // dockerd's options of its default bridge, from daemon.json's icc, ip-masq and ip.
                definition.options = ["com.docker.network.bridge.default_bridge": "true", "com.docker.network.bridge.name": defaultBridge.bridge,
                                      BridgeOption.interContainer: String(defaultBridge.interContainer),
                                      BridgeOption.masquerade: String(defaultBridge.masquerade),
                                      BridgeOption.hostBinding: defaultBridge.hostBinding?.description ?? "0.0.0.0"]
            }
            if definition != stored { try store.save(definition) }
            definitions[definition.id] = definition
        }
        for definition in definitions.values {
            if definition.driver == "bridge" {
                bridges[definition.id] = BridgeNetwork(settings: try Self.settings(definition, defaultBridge: defaultBridge), host: host)
            } else if let sublink = Self.sublink(definition, host: host) {
                sublinks[definition.id] = sublink
            }
        }
    }

    /// The default bridge's settings: daemon.json's, and without `bip` the subnet it had
    /// before, or else the first of the address pools, that no route of the host's (but its
    /// own bridge's) and no other network uses: 172.17.0.0/16 unless, say, dockerd's docker0
    /// has it.
    private static func defaultBridge(_ config: DaemonConfig, host: Netlink, stored: NetworkDefinition?, others: [NetworkDefinition]) throws -> BridgeSettings {
        try config.bridgeSettings {
            let own = (try? host.linkIndex(config.bridge)) ?? nil
            let taken = ((try? host.routes(excluding: own)) ?? []) + others.compactMap { $0.subnet.flatMap(IPv4Subnet.init) }
            if let previous = stored?.subnet.flatMap(IPv4Subnet.init), !taken.contains(where: { $0.overlaps(previous) }) { return previous }
            guard let free = SubnetChooser.next(avoiding: taken, pools: config.defaultAddressPools) else {
                throw EngineError(.badRequest, "no free subnet for the default bridge in the address pools: set bip in daemon.json")
            }
            return free
        }
    }

    private static func settings(_ definition: NetworkDefinition, defaultBridge: BridgeSettings) throws -> BridgeSettings {
        if definition.predefined { return defaultBridge }
        guard let subnet = definition.subnet.flatMap(IPv4Subnet.init), let gateway = definition.gateway.flatMap(IPv4Address.init),
              let bridge = definition.bridge else {
            throw EngineError(.internalError, "network \(definition.name) is stored without its subnet, gateway or bridge")
        }
        var settings = BridgeSettings(bridge: bridge, subnet: subnet, gateway: gateway, range: definition.ipRange.flatMap(IPv4Subnet.init),
                                      mtu: definition.options["com.docker.network.driver.mtu"].flatMap { Int($0) }, isInternal: definition.isInternal,
                                      reserved: definition.reservedAddresses, subnet6: definition.subnet6.flatMap(IPv6Subnet.init),
                                      gateway6: definition.gateway6.flatMap(IPv6Address.init))
        settings.masquerade = definition.options[BridgeOption.masquerade].flatMap { Bool(goParsing: $0) } ?? true
        settings.interContainer = definition.options[BridgeOption.interContainer].flatMap { Bool(goParsing: $0) } ?? true
        settings.hostBinding = definition.options[BridgeOption.hostBinding].flatMap(IPv4Address.init)
        return settings
    }

    private static func sublink(_ definition: NetworkDefinition, host: Netlink) -> MacvlanNetwork? {
        guard let kind = MacvlanNetwork.Kind(rawValue: definition.driver), let parent = definition.options["parent"],
              let subnet = definition.subnet.flatMap(IPv4Subnet.init), let gateway = definition.gateway.flatMap(IPv4Address.init) else { return nil }
        return MacvlanNetwork(kind: kind, parent: parent, subnet: subnet, gateway: gateway, range: definition.ipRange.flatMap(IPv4Subnet.init),
                              reserved: definition.reservedAddresses, host: host)
    }


    // MARK: Lookup

    /// A network by name, full ID or unique ID prefix, as dockerd resolves it.
    public func resolve(_ reference: String) throws -> NetworkDefinition {
        if let byID = definitions[reference] { return byID }
        if let byName = definitions.values.first(where: { $0.name == reference }) { return byName }
        let matches = definitions.values.filter { $0.id.hasPrefix(reference) }
        if matches.count == 1, !reference.isEmpty { return matches[0] }
        if matches.count > 1 { throw EngineError(.badRequest, "network \(reference) is ambiguous (\(matches.count) matches found based on ID prefix)") }
        throw EngineError(.notFound, "network \(reference) not found")
    }

    public func all() -> [NetworkDefinition] { definitions.values.sorted { $0.created < $1.created } }

    // MARK: Create, remove

    /// `POST /networks/create`: a bridge network with a subnet of its own (the one asked for,
    /// or the next free default pool), its Linux bridge up with the gateway address.
    func createNetwork(_ request: NetworkCreateRequest) async throws -> NetworkDefinition {
        guard let name = request.name, !name.isEmpty else { throw EngineError(.badRequest, "network name must not be empty") }
        if definitions.values.contains(where: { $0.name == name }) || creating.contains(name) {
            throw EngineError(.conflict, "network with name \(name) already exists")
        }
        creating.insert(name)
        defer { creating.remove(name) }
        let driver = request.driver.flatMap { $0.isEmpty ? nil : $0 } ?? "bridge"
        guard ["bridge", "macvlan", "ipvlan"].contains(driver) else {
            if ["host", "null"].contains(driver) { throw EngineError(.forbidden, "only one instance of \"\(driver)\" network is allowed") }
            throw EngineError(.notFound, "plugin \"\(driver)\" not found")
        }
        for field in ["Ingress", "ConfigOnly", "ConfigFrom", "Scope"] where request.json[field].map({ !$0.isNull && $0 != .bool(false) && $0 != .string("") && $0 != .string("local") }) ?? false {
            throw EngineError(.badRequest, "\(field) is not supported by Berth (NetworkCreateRequest.\(field))")
        }
        let allConfigs = request.ipam?.config ?? []
        let configs = allConfigs.filter { !($0.subnet ?? "").contains(":") }
        guard configs.count <= 1 else { throw EngineError(.badRequest, "more than one IPv4 subnet is not supported by Berth yet (IPAM.Config)") }
        let ipv6 = try ipv6Settings(request, allConfigs.filter { ($0.subnet ?? "").contains(":") }, driver: driver)
        if let ipamDriver = request.ipam?.driver, !["", "default"].contains(ipamDriver) {
            throw EngineError(.badRequest, "IPAM driver \(ipamDriver) is not supported by Berth")
        }
        // A macvlan or ipvlan network is the parent's segment: the host's routes may cover it.
        let taken = definitions.values.compactMap { $0.subnet.flatMap(IPv4Subnet.init) } + (driver == "bridge" ? ((try? host.routes()) ?? []) : [])
        let subnet: IPv4Subnet
        var gateway: IPv4Address?
        var range: IPv4Subnet?
        var auxiliary: [String: String]?
        if let config = configs.first, let text = config.subnet {
            guard let parsed = IPv4Subnet(text) else { throw EngineError(.badRequest, "invalid subnet \(text): use an IPv4 CIDR such as 10.1.0.0/24") }
            guard parsed.prefix <= 30 else { throw EngineError(.badRequest, "subnet \(text) is too small: a /30 at least") }
            let network = definitions.values.first { $0.subnet.flatMap(IPv4Subnet.init)?.overlaps(parsed) ?? false }
            if let network { throw EngineError(.forbidden, "invalid pool request: Pool overlaps with other one on this address space (network \(network.name))") }
            subnet = parsed
            if let text = config.gateway, !text.isEmpty {
                guard let address = IPv4Address(text), parsed.contains(address), address != parsed.network, address != parsed.broadcast else {
                    throw EngineError(.badRequest, "invalid gateway \(text): an address inside \(parsed)")
                }
                gateway = address
            }
            if let text = config.ipRange, !text.isEmpty {
                guard let parsed = IPv4Subnet(text), subnet.contains(parsed.network), parsed.prefix >= subnet.prefix else {
                    throw EngineError(.badRequest, "invalid ip range \(text): a subnet inside \(subnet)")
                }
                range = parsed
            }
            for (name, text) in (config.auxiliaryAddresses ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let address = IPv4Address(text), parsed.contains(address) else {
                    throw EngineError(.badRequest, "no matching subnet for aux-address \(text) (\(name))")
                }
            }
            auxiliary = config.auxiliaryAddresses.flatMap { $0.isEmpty ? nil : $0 }
        } else {
            if let config = configs.first, config.gateway != nil || config.ipRange != nil || !(config.auxiliaryAddresses ?? [:]).isEmpty {
                throw EngineError(.badRequest, "a gateway, an IP range or auxiliary addresses need a subnet")
            }
            guard let next = SubnetChooser.next(avoiding: taken, pools: addressPools) else {
                throw EngineError(.forbidden, "all predefined address pools have been fully subnetted")
            }
            subnet = next
        }
        let id = ContainerRecord.newID()
        if driver != "bridge" {
            return try createSublinkNetwork(request, id: id, name: name, driver: driver, subnet: subnet,
                                            gateway: gateway ?? IPv4Address(subnet.network.value + 1), range: range, auxiliary: auxiliary)
        }
        var options = request.options ?? [:]
        let bridgeName = options["com.docker.network.bridge.name"] ?? "br-" + id.prefix(12)
        options["com.docker.network.bridge.name"] = nil
        try BridgeOption.check(options)
        let definition = NetworkDefinition(id: id, name: name, driver: "bridge", created: Date().rfc3339Nano, subnet: subnet.description,
                                           gateway: (gateway ?? IPv4Address(subnet.network.value + 1)).description, ipRange: range?.description,
                                           auxiliaryAddresses: auxiliary, subnet6: ipv6?.subnet.description, gateway6: ipv6?.gateway.description, bridge: bridgeName, isInternal: request.`internal` ?? false, attachable: request.attachable ?? false,
                                           labels: request.labels ?? [:], options: request.options ?? [:])
        let bridge = BridgeNetwork(settings: try Self.settings(definition, defaultBridge: defaultSettings), host: host)
        do { try await bridge.bringUp() } catch {
            try? await bridge.tearDown()
            throw EngineError(.internalError, "create the bridge of network \(name): \(error)", cause: error)
        }
        do { try store.save(definition) } catch {
            try? await bridge.tearDown()
            throw error
        }
        definitions[id] = definition
        bridges[id] = bridge
        return definition
    }

    /// A macvlan or ipvlan network: `-o parent=IFACE` (an interface of the host's), bridge mode
    /// (macvlan) or L2 (ipvlan); nothing is made on the host until a container connects.
    private func createSublinkNetwork(_ request: NetworkCreateRequest, id: String, name: String, driver: String, subnet: IPv4Subnet,
                                      gateway: IPv4Address, range: IPv4Subnet?, auxiliary: [String: String]?) throws -> NetworkDefinition {
        let options = request.options ?? [:]
        guard let parent = options["parent"], !parent.isEmpty else {
            throw EngineError(.badRequest, "a \(driver) network needs its parent interface: -o parent=IFACE")
        }
        guard (try? host.linkIndex(parent)) ?? nil != nil else { throw EngineError(.badRequest, "-o parent interface was not found on the host: \(parent)") }
        for (key, value) in options where key != "parent" {
            guard (key == "macvlan_mode" && value == "bridge") || (key == "ipvlan_mode" && value == "l2") else {
                throw EngineError(.badRequest, "network option \(key)=\(value) is not supported by Berth yet")
            }
        }
        if request.`internal` == true { throw EngineError(.badRequest, "--internal is not supported by Berth for \(driver) networks") }
        let definition = NetworkDefinition(id: id, name: name, driver: driver, created: Date().rfc3339Nano, subnet: subnet.description,
                                           gateway: gateway.description, ipRange: range?.description, auxiliaryAddresses: auxiliary,
                                           attachable: request.attachable ?? false,
                                           labels: request.labels ?? [:], options: options)
        try store.save(definition)
        definitions[id] = definition
        sublinks[id] = Self.sublink(definition, host: host)
        return definition
    }

    /// `DELETE /networks/{id}`: refused for the predefined ones and while containers are attached.
    func removeNetwork(_ reference: String) async throws -> NetworkDefinition {
        let definition = try resolve(reference)
        if definition.predefined {
            throw EngineError(.forbidden, "\(definition.name) is a pre-defined network and cannot be removed")
        }
        if let attached = attachments[definition.id], !attached.isEmpty {
            throw EngineError(.forbidden, "error while removing network: network \(definition.name) id \(definition.id) has active endpoints")
        }
        if let bridge = bridges[definition.id] { try await bridge.tearDown() }
        try store.remove(definition.id)
        definitions[definition.id] = nil
        bridges[definition.id] = nil
        sublinks[definition.id] = nil
        attachments[definition.id] = nil
        return definition
    }

    // MARK: Containers

    /// Connects a running container to the network `reference` as `interface` in its namespace:
    /// a bridge, macvlan or ipvlan endpoint with the address and MAC `settings` ask for (or the
    /// next free ones), and its names (name, short ID, aliases) in the embedded DNS on a
    /// user-defined network, forwarded to `upstreams` (the daemon's when empty), with the names
    /// its `links` give it alone (alias to target container ID). No route: the caller chooses
    /// the gateway among all the container's networks.
    func connect(_ reference: String, container: String, name: String, namespace: NetworkNamespace, interface: String,
                 settings: EndpointSettings?, links: [String: String] = [:], upstreams: [IPv4Address]) async throws -> NetworkEndpoint {
        let definition = try resolve(reference)
        let address = try (settings?.ipamConfig?.ipv4Address).flatMap { $0.isEmpty ? nil : $0 }.map { text in
            guard let address = IPv4Address(text) else { throw EngineError(.badRequest, "invalid IPv4 address: \(text)") }
            return address
        }
        let address6 = try (settings?.ipamConfig?.ipv6Address).flatMap { $0.isEmpty ? nil : $0 }.map { text in
            guard let address = IPv6Address(text) else { throw EngineError(.badRequest, "invalid IPv6 address: \(text)") }
            return address
        }
        let mac = try (settings?.macAddress).flatMap { $0.isEmpty ? nil : $0 }.map(Self.macAddress)
        var endpoint: NetworkEndpoint
        if let sublink = sublinks[definition.id] {
            if address6 != nil { throw EngineError(.badRequest, "an IPv6 address on a \(definition.driver) network is not supported by Berth yet") }
            endpoint = try await sublink.connect(namespace, interface: interface, requested: address, macAddress: mac)
        } else if let bridge = bridges[definition.id] {
            endpoint = try await bridge.connect(namespace, interface: interface, requested: address, requested6: address6, macAddress: mac)
        } else {
            throw EngineError(.badRequest, "network \(definition.name) cannot take containers")
        }
        endpoint.networkID = definition.id
        let aliases = settings?.aliases ?? []
        endpoint.aliases = aliases.isEmpty ? nil : aliases
        endpoint.links = links.isEmpty ? nil : links
        attachments[definition.id, default: [:]][container] = Attachment(name: name, endpoint: endpoint, pid: namespace.pid, upstreams: upstreams)
        if !definition.predefined {
            do { try serveNames(definition, container: container, name: name, endpoint: endpoint, namespace: namespace, upstreams: upstreams) } catch {
                try? await disconnect(container, endpoint, namespace: namespace)
                throw error
            }
        }
        await events.publish("network", "connect", id: definition.id, attributes: ["container": container, "name": definition.name, "type": definition.driver])
        return endpoint
    }

    /// `--mac-address`: six hexadecimal pairs, a unicast address.
    static func macAddress(_ text: String) throws -> [UInt8] {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let bytes = parts.compactMap { $0.count == 2 ? UInt8($0, radix: 16) : nil }
        guard parts.count == 6, bytes.count == 6 else { throw EngineError(.badRequest, "invalid MAC address: \(text)") }
        guard bytes[0] & 1 == 0 else { throw EngineError(.badRequest, "invalid MAC address: \(text): a multicast address") }
        return bytes
    }

    /// The embedded DNS for a container on a user-defined network: its names on that network,
    /// and (once per container) a socket at 127.0.0.11:53 in its namespace.
    private func serveNames(_ definition: NetworkDefinition, container: String, name: String, endpoint: NetworkEndpoint,
                            namespace: NetworkNamespace, upstreams: [IPv4Address]) throws {
        guard let address = IPv4Address(endpoint.address) else { return }
        try dns.prepare()
        dns.add(EmbeddedDNS.Member(container: container, network: definition.name, names: [name, String(container.prefix(12))] + (endpoint.aliases ?? []),
                                   address: address, address6: endpoint.address6.flatMap(IPv6Address.init), links: endpoint.links ?? [:]))
        guard !dns.isServing(container) else { return }
        do {
            let socket = try namespace.udpSocket(bindingTo: Self.dnsAddress, port: 53)
            let listener: Int32
            do { listener = try namespace.tcpListener(bindingTo: Self.dnsAddress, port: 53) } catch {
                close(socket)
                throw error
            }
            dns.serve(socket, for: container, upstreams: upstreams, pid: namespace.pid)
            dns.listen(listener, for: container)
        } catch {
            dns.remove(container: container, network: definition.name)
            throw error
        }
    }

    public static let dnsAddress = IPv4Address(127 << 24 | 11)

    /// Takes the container off a network: its address, its published ports if they were on
    /// this network, its names there. `namespace`: the container still runs (`network
    /// disconnect`), so its interface there is deleted too.
    func disconnect(_ container: String, _ endpoint: NetworkEndpoint, namespace: NetworkNamespace? = nil) async throws {
        let id = endpoint.networkID ?? defaultBridgeID
        if !(endpoint.ports ?? []).isEmpty { published[container] = nil }
        attachments[id]?[container] = nil
        if let definition = definitions[id] { dns.remove(container: container, network: definition.name) }
        try await bridges[id]?.disconnect(container, endpoint, namespace: namespace)
        try await sublinks[id]?.disconnect(endpoint, namespace: namespace)
        if let definition = definitions[id] {
            await events.publish("network", "disconnect", id: id, attributes: ["container": container, "name": definition.name, "type": definition.driver])
        }
    }

    // MARK: Gateway and published ports

    /// The network (of `endpoints`, by name) that gives the container its default route, as
    /// dockerd chooses it: the highest `GwPriority`, then the first network name; an internal
    /// network gives none.
    func gatewayNetwork(_ endpoints: [String: NetworkEndpoint], priorities: [String: Int64]) -> String? {
        endpoints.filter { !(definitions[$0.value.networkID ?? defaultBridgeID]?.isInternal ?? false) }.keys
            .sorted { (-(priorities[$0] ?? 0), $0) < (-(priorities[$1] ?? 0), $1) }.first
    }

    /// Sets the container's default routes through `endpoint`'s gateways (IPv4, and IPv6 on a
    /// dual-stack network), or removes them.
    func route(_ namespace: NetworkNamespace, through endpoint: NetworkEndpoint?) throws {
        let inside = try namespace.netlink()
        guard let endpoint else {
            try inside.deleteDefaultRoute()
            return try inside.deleteDefaultRoute(family: AF_INET6)
        }
        guard let gateway = IPv4Address(endpoint.gateway), let index = try inside.linkIndex(endpoint.interfaceName) else {
            throw EngineError(.internalError, "the container's \(endpoint.interfaceName) is gone")
        }
        try inside.replaceDefaultRoute(via: gateway, link: index)
        if let gateway6 = endpoint.gateway6.flatMap(IPv6Address.init) {
            try inside.replaceDefaultRoute(via: gateway6, link: index)
        } else {
            try inside.deleteDefaultRoute(family: AF_INET6)
        }
    }

    /// Host ports for `requests`, none that another container publishes (on any network) or a
    /// host process listens on.
    func allocatePorts(_ requests: [PortRequest], container: String, name: String) throws -> [PortMapping] {
        do { return try PortMapping.allocate(requests, taken: published.filter { $0.key != container }.values.flatMap { $0 }, endpoint: "\(name) (\(container))") } catch {
            throw EngineError(.internalError, "\(error)", cause: error)
        }
    }

    /// Programs `ports` (from `allocatePorts`) to the container's address on `endpoint`'s bridge.
    func publish(_ container: String, _ ports: [PortMapping], on endpoint: NetworkEndpoint) async throws {
        guard let bridge = bridges[endpoint.networkID ?? defaultBridgeID] else {
            let driver = definitions[endpoint.networkID ?? ""]?.driver ?? "this"
            throw EngineError(.badRequest, "publishing ports on a \(driver) network is not supported: its containers are on the parent interface's segment")
        }
        try await bridge.publish(container, address: endpoint.address, address6: endpoint.address6, ports: ports)
        published[container] = ports
    }

    /// Takes the container's published ports off `endpoint`'s bridge (they move to its new gateway).
    func unpublish(_ container: String, from endpoint: NetworkEndpoint) async throws {
        published[container] = nil
        try await bridges[endpoint.networkID ?? defaultBridgeID]?.unpublish(container)
    }

    /// Where `endpoint`'s network publishes a port asked for without an address
    /// (`host_binding_ipv4`; nil: every address of the host).
    func hostBinding(for endpoint: NetworkEndpoint) -> IPv4Address? {
        definitions[endpoint.networkID ?? defaultBridgeID]?.options[BridgeOption.hostBinding].flatMap(IPv4Address.init)
    }

    /// Whether ports can be published on `endpoint`'s network (a bridge network with a way out).
    func canPublish(on endpoint: NetworkEndpoint) -> Bool {
        let id = endpoint.networkID ?? defaultBridgeID
        return bridges[id] != nil && !(definitions[id]?.isInternal ?? false)
    }

    // MARK: Restart

    /// After a daemon restart: what the running containers hold.
    func reclaim(_ container: String, name: String, pid: Int32, _ endpoints: [NetworkEndpoint], upstreams: [IPv4Address]) async {
        for endpoint in endpoints {
            let id = endpoint.networkID ?? defaultBridgeID
            attachments[id, default: [:]][container] = Attachment(name: name, endpoint: endpoint, pid: pid, upstreams: upstreams)
            if let ports = endpoint.ports, !ports.isEmpty { published[container] = ports }
            await bridges[id]?.reclaim(container, endpoint)
            await sublinks[id]?.reclaim(endpoint)
            // The previous daemon's DNS socket went with it: a new one, in the same namespace.
            if let definition = definitions[id], !definition.predefined, pid > 0 {
                EngineLog.attempt("serve names to \(name) again") {
                    try serveNames(definition, container: container, name: name, endpoint: endpoint, namespace: NetworkNamespace(pid: pid), upstreams: upstreams)
                }
            }
        }
    }

    /// After berth-dns died under a running berthd: a new one (started by `serveNames`) gets every
    /// running container's names and new sockets in their namespaces.
    func serveNamesAgain() {
        for (id, containers) in attachments {
            guard let definition = definitions[id], !definition.predefined else { continue }
            for (container, attachment) in containers where attachment.pid > 0 && kill(attachment.pid, 0) == 0 {
                EngineLog.attempt("serve names to \(attachment.name) again") {
                    try serveNames(definition, container: container, name: attachment.name, endpoint: attachment.endpoint,
                                   namespace: NetworkNamespace(pid: attachment.pid), upstreams: attachment.upstreams)
                }
            }
        }
    }

    func restore() async throws {
        for bridge in bridges.values { try await bridge.restore() }
    }

    func attachedCount(_ id: String) -> Int { attachments[id]?.count ?? 0 }

    private var defaultBridgeID: String { definitions.values.first { $0.predefined && $0.name == "bridge" }?.id ?? "" }

    // MARK: API

    /// The API's network object, with its attached containers.
    public func model(_ definition: NetworkDefinition) -> Network {
        var network = Network()
        network.name = definition.name
        network.id = definition.id
        network.created = definition.created
        network.scope = "local"
        network.driver = definition.driver
        network.enableIPv4 = definition.driver == "bridge"
        network.enableIPv6 = definition.subnet6 != nil
        var ipam = IPAM()
        ipam.driver = "default"
        ipam.options = [:]
        if let subnet = definition.subnet {
            var config = IPAMConfig()
            config.subnet = subnet
            config.gateway = definition.gateway
            config.ipRange = definition.ipRange
            config.auxiliaryAddresses = definition.auxiliaryAddresses
            ipam.config = [config]
            if let subnet6 = definition.subnet6 {
                var config6 = IPAMConfig()
                config6.subnet = subnet6
                config6.gateway = definition.gateway6
                ipam.config?.append(config6)
            }
        } else {
            ipam.config = []
        }
        network.ipam = ipam
        network.`internal` = definition.isInternal
        network.attachable = definition.attachable
        network.ingress = false
        network.configFrom = .object(["Network": .string("")])
        network.configOnly = false
        network.containers = (attachments[definition.id] ?? [:]).mapValues { attachment in
            var container = NetworkContainer()
            container.name = attachment.name
            container.endpointID = ""
            container.macAddress = attachment.endpoint.macAddress
            container.ipv4Address = "\(attachment.endpoint.address)/\(attachment.endpoint.prefixLength)"
            container.ipv6Address = attachment.endpoint.address6.map { "\($0)/\(attachment.endpoint.prefixLength6 ?? 64)" } ?? ""
            return container
        }
        network.options = definition.options
        network.labels = definition.labels
        return network
    }
}
