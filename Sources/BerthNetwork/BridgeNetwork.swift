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

    public init(address: String, prefixLength: Int, gateway: String, macAddress: String, hostInterface: String) {
        self.address = address
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.macAddress = macAddress
        self.hostInterface = hostInterface
    }
}

/// A bridge network's settings: dockerd's `bridge`, `bip`, `fixed-cidr` and `mtu`.
public struct BridgeSettings: Sendable, Equatable {
    public var bridge: String
    public var subnet: IPv4Subnet
    public var gateway: IPv4Address
    /// Where container addresses come from (`fixed-cidr`; the whole subnet by default).
    public var range: IPv4Subnet?
    public var mtu: Int?

    public init(bridge: String, subnet: IPv4Subnet, gateway: IPv4Address, range: IPv4Subnet? = nil, mtu: Int? = nil) {
        self.bridge = bridge
        self.subnet = subnet
        self.gateway = gateway
        self.range = range
        self.mtu = mtu
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

    public init(settings: BridgeSettings, host: Netlink) {
        self.settings = settings
        self.host = host
        pool = AddressPool(subnet: settings.subnet, range: settings.range, gateway: settings.gateway)
        table = FirewallTable(bridge: settings.bridge, subnet: settings.subnet)
    }

    /// An address a container held before the daemon restarted (its veth lives on).
    public func reclaim(_ endpoint: NetworkEndpoint) {
        if let address = IPv4Address(endpoint.address) { _ = pool.claim(address) }
    }

    /// Makes sure the bridge is there, up, with the gateway address, and the table is in place.
    private func prepare() throws -> Int32 {
        if let bridgeIndex { return bridgeIndex }
        if try host.linkIndex(settings.bridge) == nil { try host.createBridge(settings.bridge, mtu: settings.mtu) }
        guard let index = try host.linkIndex(settings.bridge) else { throw NetworkError("bridge \(settings.bridge) vanished") }
        if try !host.addresses(index).contains(where: { $0.address == settings.gateway }) {
            try host.addAddress(index, settings.gateway, prefix: settings.subnet.prefix)
        }
        try host.setUp(index)
        try table.apply()
        try Self.enableForwarding(bridge: settings.bridge)
        bridgeIndex = index
        return index
    }

    /// Connects the container whose network namespace is `namespace`: an address (`requested`,
    /// or the next free one), a veth pair, `eth0` inside with the address and a default route.
    /// On failure nothing is left: no veth, no address taken.
    public func connect(_ namespace: NetworkNamespace, requested: IPv4Address? = nil) throws -> NetworkEndpoint {
        let bridge = try prepare()
        let address: IPv4Address
        if let requested {
            guard pool.claim(requested) else { throw NetworkError("Address already in use: \(requested)") }
            address = requested
        } else {
            guard let next = pool.allocate() else {
                throw NetworkError("no available IPv4 addresses on this network's address pools: bridge (\(settings.subnet))")
            }
            address = next
        }
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let hostName = "veth" + suffix, peerName = "vc" + suffix
        do {
            try host.createVeth(hostName, peer: peerName, peerAddress: address.dockerMAC, mtu: settings.mtu)
            do {
                try attach(hostName: hostName, peerName: peerName, bridge: bridge, namespace: namespace, address: address)
            } catch {
                if let index = try? host.linkIndex(hostName) { try? host.deleteLink(index) }
                throw error
            }
        } catch {
            pool.release(address)
            throw error
        }
        return NetworkEndpoint(address: address.description, prefixLength: settings.subnet.prefix, gateway: settings.gateway.description,
                               macAddress: address.dockerMAC.map { String(format: "%02x", $0) }.joined(separator: ":"),
                               hostInterface: hostName)
    }

    private func attach(hostName: String, peerName: String, bridge: Int32, namespace: NetworkNamespace, address: IPv4Address) throws {
        guard let hostIndex = try host.linkIndex(hostName), let peerIndex = try host.linkIndex(peerName) else {
            throw NetworkError("the veth pair \(hostName) vanished")
        }
        try host.setMaster(hostIndex, master: bridge)
        try host.setUp(hostIndex)
        let namespaceFD = try namespace.open()
        defer { close(namespaceFD) }
        try host.moveToNamespace(peerIndex, namespaceFD: namespaceFD)
        let inside = try namespace.netlink()
        guard let index = try inside.linkIndex(peerName) else { throw NetworkError("\(peerName) did not reach the container") }
        try inside.rename(index, to: "eth0")
        try inside.addAddress(index, address, prefix: settings.subnet.prefix)
        try inside.setUp(index)
        if let loopback = try inside.linkIndex("lo") { try inside.setUp(loopback) }
        try inside.addDefaultRoute(via: settings.gateway, link: index)
    }

    /// Gives the container's address back (its veth went with its namespace).
    public func disconnect(_ endpoint: NetworkEndpoint) {
        if let address = IPv4Address(endpoint.address) { pool.release(address) }
    }

    /// Routing between the bridge and the host's other interfaces, set only when a bridge
    /// network is in use (dockerd does the same).
    static func enableForwarding(bridge: String) throws {
        let path = "/proc/sys/net/ipv4/ip_forward"
        if (try? String(contentsOfFile: path, encoding: .utf8))?.hasPrefix("1") == true { return }
        do { try "1\n".write(toFile: path, atomically: false, encoding: .utf8) } catch {
            throw NetworkError("enable IPv4 forwarding for \(bridge): \(error)")
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
