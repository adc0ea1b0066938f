import Foundation
import Glibc

/// Where a container is on a network: what inspect shows and what its release needs.
public struct NetworkEndpoint: Codable, Sendable, Equatable {
    public var address: String
    public var prefixLength: Int
    public var gateway: String
    public var macAddress: String
    /// The host's end of the veth pair.
    public var hostInterface: String
    /// Its published ports.
    public var ports: [PortMapping]?
    /// The network's ID (nil: the default bridge, for records written before networks had IDs).
    public var networkID: String?
    /// Names the container also answers to on this network (`--network-alias`).
    public var aliases: [String]?
    /// Names only this container resolves on this network (`--link`), to target container IDs.
    public var links: [String: String]?
    /// The container's end, inside its namespace (`eth0`, `eth1`, …; nil: `eth0`, in records
    /// written before containers had several networks).
    public var interface: String?
    /// On a network with IPv6: the container's address, its prefix length and the gateway.
    public var address6: String?
    public var prefixLength6: Int?
    public var gateway6: String?

    public init(address: String, prefixLength: Int, gateway: String, macAddress: String, hostInterface: String, interface: String) {
        self.address = address
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.macAddress = macAddress
        self.hostInterface = hostInterface
        self.interface = interface
    }

    public var interfaceName: String { interface ?? "eth0" }
}

/// A bridge network's settings: dockerd's `bridge`, `bip`, `fixed-cidr` and `mtu`.
public struct BridgeSettings: Sendable, Equatable {
    public var bridge: String
    public var subnet: IPv4Subnet
    public var gateway: IPv4Address
    /// Where container addresses come from (`fixed-cidr`; the whole subnet by default).
    public var range: IPv4Subnet?
    public var mtu: Int?
    /// No route out and no NAT (`--internal`).
    public var isInternal: Bool
    /// Addresses never given to containers (`--aux-address`).
    public var reserved: [IPv4Address]
    /// The IPv6 subnet and gateway of a dual-stack network (`--ipv6`).
    public var subnet6: IPv6Subnet?
    public var gateway6: IPv6Address?
    /// `com.docker.network.bridge.enable_ip_masquerade`: outbound traffic takes the host's address.
    public var masquerade = true
    /// `com.docker.network.bridge.enable_icc`: containers of the network reach each other.
    public var interContainer = true
    /// `com.docker.network.bridge.host_binding_ipv4`: where `-p PORT` publishes without an address.
    public var hostBinding: IPv4Address?

    public init(bridge: String, subnet: IPv4Subnet, gateway: IPv4Address, range: IPv4Subnet? = nil, mtu: Int? = nil, isInternal: Bool = false,
                reserved: [IPv4Address] = [], subnet6: IPv6Subnet? = nil, gateway6: IPv6Address? = nil) {
        self.bridge = bridge
        self.subnet = subnet
        self.gateway = gateway
        self.range = range
        self.mtu = mtu
        self.isInternal = isInternal
        self.reserved = reserved
        self.subnet6 = subnet6
        self.gateway6 = subnet6.map { subnet in gateway6 ?? IPv6Address(subnet.network.value + 1) }
    }
}

/// A Linux bridge network: the bridge with the gateway address, Berth's nftables table for it
/// (masquerade out, published ports in), and, for each container, a veth pair with one end on
/// the bridge and the other as `eth0` in the container's namespace. The bridge and the table
/// are made at the first connection, not before: a daemon whose containers use no network
/// touches nothing of the host's.
public actor BridgeNetwork {
    public let settings: BridgeSettings
    private let host: Netlink
    private var pool: AddressPool
    private var pool6: IPv6Pool?
    private var table: FirewallTable
    private var bridgeIndex: Int32?
    /// The addresses and published ports of each container that publishes ports here (the
    /// table's DNAT rules are built from them).
    private var connected: [String: (address: IPv4Address, address6: IPv6Address?, ports: [PortMapping])] = [:]

    public init(settings: BridgeSettings, host: Netlink) {
        self.settings = settings
        self.host = host
        pool = AddressPool(subnet: settings.subnet, range: settings.range, gateway: settings.gateway, reserved: settings.reserved)
        pool6 = settings.subnet6.map { IPv6Pool(subnet: $0, gateway: settings.gateway6) }
        table = FirewallTable(bridge: settings.bridge, subnet: settings.subnet)
        table.subnet6 = settings.subnet6
        table.masquerade = settings.masquerade
        table.isolatedPorts = settings.interContainer ? nil : []
        table.isInternal = settings.isInternal
    }

    /// The address and ports a container held before the daemon restarted (its veth and the
    /// kernel's rules live on; `restore` rewrites the table from what was reclaimed).
    public func reclaim(_ container: String, _ endpoint: NetworkEndpoint) {
        guard let address = IPv4Address(endpoint.address) else { return }
        _ = pool.claim(address)
        let address6 = endpoint.address6.flatMap(IPv6Address.init)
        if let address6 { _ = pool6?.claim(address6) }
        if let ports = endpoint.ports, !ports.isEmpty { connected[container] = (address, address6, ports) }
        if !settings.interContainer { table.isolatedPorts?.append(endpoint.hostInterface) }
    }

    /// After a daemon restart: the table again from the reclaimed containers, for a bridge the
    /// previous daemon left (a crash may have come between a container's exit and its rules'
    /// removal).
    public func restore() throws {
        guard try host.linkIndex(settings.bridge) != nil else { return }
        if bridgeIndex == nil { _ = try prepare() } else { try applyTable() }
    }

    private func applyTable() throws {
        table.ports = connected.values.flatMap { entry in
            entry.ports.compactMap { mapping -> FirewallTable.PublishedPort? in
                if mapping.isIPv6 {
                    guard let address6 = entry.address6 else { return nil }
                    return FirewallTable.PublishedPort(hostAddress: mapping.hostIP == "::" ? nil : IPv6Address(mapping.hostIP).map(IPAddress.v6), hostPort: mapping.hostPort,
                                                       proto: mapping.proto, containerAddress: .v6(address6), containerPort: mapping.containerPort)
                }
                return FirewallTable.PublishedPort(hostAddress: mapping.hostIP == "0.0.0.0" ? nil : IPv4Address(mapping.hostIP).map(IPAddress.v4), hostPort: mapping.hostPort,
                                                   proto: mapping.proto, containerAddress: .v4(entry.address), containerPort: mapping.containerPort)
            }
        }
        try table.apply()
    }

    /// Creates the bridge and its table now (a user-defined network has them from its creation).
    public func bringUp() throws { _ = try prepare() }

    /// Makes sure the bridge is there, up, with the gateway address, and the table is in place.
    private func prepare() throws -> Int32 {
        if let bridgeIndex { return bridgeIndex }
        if try host.linkIndex(settings.bridge) == nil { try host.createBridge(settings.bridge, mtu: settings.mtu) }
        guard let index = try host.linkIndex(settings.bridge) else { throw NetworkError("bridge \(settings.bridge) vanished") }
        if try !host.addresses(index).contains(where: { $0.address == settings.gateway }) {
            try host.addAddress(index, settings.gateway, prefix: settings.subnet.prefix)
        }
        if let gateway6 = settings.gateway6, let subnet6 = settings.subnet6, try !host.addresses6(index).contains(where: { $0.address == gateway6 }) {
            try host.addAddress(index, gateway6, prefix: subnet6.prefix)
        }
        try host.setUp(index)
        // With the reclaimed containers' ports already: a restarted daemon's first table keeps
        // the rules the previous one left serving.
        try applyTable()
        try Self.enableForwarding(bridge: settings.bridge, ipv6: settings.subnet6 != nil)
        // DNAT of 127.0.0.1 to a container: the kernel routes loopback sources only with this.
        try Self.setSysctl("/proc/sys/net/ipv4/conf/\(settings.bridge)/route_localnet", "1")
        bridgeIndex = index
        return index
    }

    /// Connects the container whose network namespace is `namespace`: an address (`requested`,
    /// or the next free one), a veth pair, `interface` inside with the address (no route: the
    /// container's gateway is chosen among all its networks). On failure nothing is left: no
    /// veth, no address taken.
    public func connect(_ namespace: NetworkNamespace, interface: String, requested: IPv4Address? = nil, requested6: IPv6Address? = nil,
                        macAddress: [UInt8]? = nil) throws -> NetworkEndpoint {
        let bridge = try prepare()
        if requested6 != nil && pool6 == nil { throw NetworkError("an IPv6 address on a network without IPv6 (--ipv6)") }
        let address: IPv4Address
        if let requested {
            guard pool.claim(requested) else { throw NetworkError("Address already in use") }
            address = requested
        } else {
            guard let next = pool.allocate() else {
                throw NetworkError("no available IPv4 addresses on this network's address pools: bridge (\(settings.subnet))")
            }
            address = next
        }
        var address6: IPv6Address?
        if let requested6 {
            guard pool6?.claim(requested6) ?? false else {
                pool.release(address)
                throw NetworkError("Address already in use")
            }
            address6 = requested6
        } else if pool6 != nil {
            address6 = pool6?.allocate()
            if address6 == nil {
                pool.release(address)
                throw NetworkError("no available IPv6 addresses on this network's address pools: bridge (\(settings.subnet6?.description ?? ""))")
            }
        }
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let hostName = "veth" + suffix
        let mac = macAddress ?? address.dockerMAC
        do {
            let namespaceFD = try namespace.open()
            defer { close(namespaceFD) }
            // The container's end is made in its namespace, under its name there.
            try host.createVeth(hostName, peer: interface, peerAddress: mac, mtu: settings.mtu, peerNamespace: namespaceFD)
            do {
                // Without inter-container traffic the port is in the table's set before it is up.
                if !settings.interContainer {
                    table.isolatedPorts?.append(hostName)
                    try applyTable()
                }
                try attach(hostName: hostName, bridge: bridge, namespace: namespace, interface: interface, address: address, address6: address6)
            } catch {
                table.isolatedPorts?.removeAll { $0 == hostName }
                if let index = try? host.linkIndex(hostName) { try? host.deleteLink(index) }
                throw error
            }
        } catch {
            pool.release(address)
            if let address6 { pool6?.release(address6) }
            throw error
        }
        var endpoint = NetworkEndpoint(address: address.description, prefixLength: settings.subnet.prefix, gateway: settings.gateway.description,
                                       macAddress: mac.map { String(format: "%02x", $0) }.joined(separator: ":"), hostInterface: hostName, interface: interface)
        if let address6, let subnet6 = settings.subnet6 {
            endpoint.address6 = address6.description
            endpoint.prefixLength6 = subnet6.prefix
            endpoint.gateway6 = settings.gateway6?.description
        }
        return endpoint
    }

    private func attach(hostName: String, bridge: Int32, namespace: NetworkNamespace, interface: String, address: IPv4Address, address6: IPv6Address?) throws {
        guard let hostIndex = try host.linkIndex(hostName) else { throw NetworkError("the veth pair \(hostName) vanished") }
        try host.setMaster(hostIndex, master: bridge)
        // A container may reach its own published ports through the host (hairpin).
        try Self.setSysctl("/sys/class/net/\(hostName)/brport/hairpin_mode", "1")
        try host.setUp(hostIndex)
        let inside = try namespace.netlink()
        guard let index = try inside.linkIndex(interface) else { throw NetworkError("\(interface) did not reach the container") }
        try inside.addAddress(index, address, prefix: settings.subnet.prefix)
        if let address6, let subnet6 = settings.subnet6 { try inside.addAddress(index, address6, prefix: subnet6.prefix) }
        try inside.setUp(index)
        if let loopback = try inside.linkIndex("lo") { try inside.setUp(loopback) }
    }

    /// DNAT of `ports` (allocated by the caller, across all networks) to the container's
    /// `address` on this bridge.
    public func publish(_ container: String, address: String, address6: String?, ports: [PortMapping]) throws {
        guard let address = IPv4Address(address) else { throw NetworkError("publish ports to \(address): not an IPv4 address") }
        connected[container] = (address, address6.flatMap(IPv6Address.init), ports)
        do { try applyTable() } catch {
            connected[container] = nil
            throw error
        }
    }

    /// Takes the container's published ports off this bridge (they move with its gateway).
    public func unpublish(_ container: String) throws {
        guard connected.removeValue(forKey: container) != nil else { return }
        try applyTable()
    }

    /// Gives the container's address and ports back. `namespace`: the container still runs (a
    /// `network disconnect`), so its end of the veth is deleted there (the host's end goes
    /// with it); otherwise the veth went with the namespace.
    public func disconnect(_ container: String, _ endpoint: NetworkEndpoint, namespace: NetworkNamespace? = nil) throws {
        if let namespace {
            let inside = try namespace.netlink()
            if let index = try inside.linkIndex(endpoint.interfaceName) { try inside.deleteLink(index) }
        }
        if let address = IPv4Address(endpoint.address) { pool.release(address) }
        if let address6 = endpoint.address6.flatMap(IPv6Address.init) { pool6?.release(address6) }
        if table.isolatedPorts?.contains(endpoint.hostInterface) ?? false {
            table.isolatedPorts?.removeAll { $0 == endpoint.hostInterface }
            if connected[container] == nil { try applyTable() }
        }
        try unpublish(container)
    }

    /// Routing between the bridge and the host's other interfaces, set only when a bridge
    /// network is in use (dockerd does the same).
    static func enableForwarding(bridge: String, ipv6: Bool) throws {
        try setSysctl("/proc/sys/net/ipv4/ip_forward", "1")
        if ipv6 { try setSysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1") }
    }

    static func setSysctl(_ path: String, _ value: String) throws {
        if (try? String(contentsOfFile: path, encoding: .utf8))?.hasPrefix(value) == true { return }
        do { try (value + "\n").write(toFile: path, atomically: false, encoding: .utf8) } catch {
            throw NetworkError("set \(path) to \(value): \(error)")
        }
    }

    /// Deletes the bridge and its table (the daemon's last container on it is gone, at shutdown
    /// without live restore, or in tests).
    public func tearDown() throws {
        if let index = try host.linkIndex(settings.bridge) { try host.deleteLink(index) }
        try FirewallTable.remove(bridge: settings.bridge)
        bridgeIndex = nil
    }
}
