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

    public init(bridge: String, subnet: IPv4Subnet, gateway: IPv4Address, range: IPv4Subnet? = nil, mtu: Int? = nil, isInternal: Bool = false,
                reserved: [IPv4Address] = []) {
        self.bridge = bridge
        self.subnet = subnet
        self.gateway = gateway
        self.range = range
        self.mtu = mtu
        self.isInternal = isInternal
        self.reserved = reserved
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
    private var table: FirewallTable
    private var bridgeIndex: Int32?
    /// The address and published ports of each container that publishes ports here (the table's
    /// DNAT rules are built from them).
    private var connected: [String: (address: IPv4Address, ports: [PortMapping])] = [:]

    public init(settings: BridgeSettings, host: Netlink) {
        self.settings = settings
        self.host = host
        pool = AddressPool(subnet: settings.subnet, range: settings.range, gateway: settings.gateway, reserved: settings.reserved)
        table = FirewallTable(bridge: settings.bridge, subnet: settings.subnet)
        table.isInternal = settings.isInternal
    }

    /// The address and ports a container held before the daemon restarted (its veth and the
    /// kernel's rules live on; `restore` rewrites the table from what was reclaimed).
    public func reclaim(_ container: String, _ endpoint: NetworkEndpoint) {
        guard let address = IPv4Address(endpoint.address) else { return }
        _ = pool.claim(address)
        if let ports = endpoint.ports, !ports.isEmpty { connected[container] = (address, ports) }
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
            entry.ports.map { mapping in
                FirewallTable.PublishedPort(hostAddress: mapping.hostIP == "0.0.0.0" ? nil : IPv4Address(mapping.hostIP), hostPort: mapping.hostPort,
                                            proto: mapping.proto, containerAddress: entry.address, containerPort: mapping.containerPort)
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
        try host.setUp(index)
        // With the reclaimed containers' ports already: a restarted daemon's first table keeps
        // the rules the previous one left serving.
        try applyTable()
        try Self.enableForwarding(bridge: settings.bridge)
        // DNAT of 127.0.0.1 to a container: the kernel routes loopback sources only with this.
        try Self.setSysctl("/proc/sys/net/ipv4/conf/\(settings.bridge)/route_localnet", "1")
        bridgeIndex = index
        return index
    }

    /// Connects the container whose network namespace is `namespace`: an address (`requested`,
    /// or the next free one), a veth pair, `interface` inside with the address (no route: the
    /// container's gateway is chosen among all its networks). On failure nothing is left: no
    /// veth, no address taken.
    public func connect(_ namespace: NetworkNamespace, interface: String, requested: IPv4Address? = nil, macAddress: [UInt8]? = nil) throws -> NetworkEndpoint {
        let bridge = try prepare()
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
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let hostName = "veth" + suffix
        let mac = macAddress ?? address.dockerMAC
        do {
            let namespaceFD = try namespace.open()
            defer { close(namespaceFD) }
            // The container's end is made in its namespace, under its name there.
            try host.createVeth(hostName, peer: interface, peerAddress: mac, mtu: settings.mtu, peerNamespace: namespaceFD)
            do { try attach(hostName: hostName, bridge: bridge, namespace: namespace, interface: interface, address: address) } catch {
                if let index = try? host.linkIndex(hostName) { try? host.deleteLink(index) }
                throw error
            }
        } catch {
            pool.release(address)
            throw error
        }
        return NetworkEndpoint(address: address.description, prefixLength: settings.subnet.prefix, gateway: settings.gateway.description,
                               macAddress: mac.map { String(format: "%02x", $0) }.joined(separator: ":"), hostInterface: hostName, interface: interface)
    }

    private func attach(hostName: String, bridge: Int32, namespace: NetworkNamespace, interface: String, address: IPv4Address) throws {
        guard let hostIndex = try host.linkIndex(hostName) else { throw NetworkError("the veth pair \(hostName) vanished") }
        try host.setMaster(hostIndex, master: bridge)
        // A container may reach its own published ports through the host (hairpin).
        try Self.setSysctl("/sys/class/net/\(hostName)/brport/hairpin_mode", "1")
        try host.setUp(hostIndex)
        let inside = try namespace.netlink()
        guard let index = try inside.linkIndex(interface) else { throw NetworkError("\(interface) did not reach the container") }
        try inside.addAddress(index, address, prefix: settings.subnet.prefix)
        try inside.setUp(index)
        if let loopback = try inside.linkIndex("lo") { try inside.setUp(loopback) }
    }

    /// DNAT of `ports` (allocated by the caller, across all networks) to the container's
    /// `address` on this bridge.
    public func publish(_ container: String, address: String, ports: [PortMapping]) throws {
        guard let address = IPv4Address(address) else { throw NetworkError("publish ports to \(address): not an IPv4 address") }
        connected[container] = (address, ports)
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
        try unpublish(container)
    }

    /// Routing between the bridge and the host's other interfaces, set only when a bridge
    /// network is in use (dockerd does the same).
    static func enableForwarding(bridge: String) throws {
        try setSysctl("/proc/sys/net/ipv4/ip_forward", "1")
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
