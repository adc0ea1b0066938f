import Glibc

/// A macvlan or ipvlan network on a parent interface of the host: each container gets a link of
/// that kind on the parent, made inside its namespace (`eth0`, …), with an address of the
/// network's subnet; its default route, when this network gives the container its gateway,
/// goes through the network's gateway (a router outside the host). No bridge, no NAT, no published ports: the containers are on the parent's segment.
public actor MacvlanNetwork {
    public enum Kind: String, Sendable { case macvlan, ipvlan }

    public nonisolated let kind: Kind
    public nonisolated let parent: String
    public nonisolated let subnet: IPv4Subnet
    public nonisolated let gateway: IPv4Address
    private let host: Netlink
    private var pool: AddressPool

    public init(kind: Kind, parent: String, subnet: IPv4Subnet, gateway: IPv4Address, range: IPv4Subnet?, reserved: [IPv4Address] = [], host: Netlink) {
        self.kind = kind
        self.parent = parent
        self.subnet = subnet
        self.gateway = gateway
        self.host = host
        pool = AddressPool(subnet: subnet, range: range, gateway: gateway, reserved: reserved)
    }

    public func connect(_ namespace: NetworkNamespace, interface: String, requested: IPv4Address?, macAddress: [UInt8]? = nil) throws -> NetworkEndpoint {
        guard let parentIndex = try host.linkIndex(parent) else {
            throw NetworkError("-o parent interface was not found on the host: \(parent)")
        }
        let address: IPv4Address
        if let requested {
            guard pool.claim(requested) else { throw NetworkError("Address already in use") }
            address = requested
        } else {
            guard let next = pool.allocate() else { throw NetworkError("no available IPv4 addresses on this network's address pools (\(subnet))") }
            address = next
        }
        do {
            let namespaceFD = try namespace.open()
            defer { close(namespaceFD) }
            do {
                try host.createSublink(interface, kind: kind.rawValue, parent: parentIndex, namespaceFD: namespaceFD,
                                       macAddress: kind == .macvlan ? (macAddress ?? address.dockerMAC) : nil)
            } catch let error as NetlinkError where error.errno == EOPNOTSUPP {
                throw NetworkError("this kernel has no \(kind.rawValue) support (create \(kind.rawValue) link on \(parent): \(error))")
            }
            let inside = try namespace.netlink()
            guard let index = try inside.linkIndex(interface) else { throw NetworkError("\(interface) did not reach the container") }
            try inside.addAddress(index, address, prefix: subnet.prefix)
            try inside.setUp(index)
            if let loopback = try inside.linkIndex("lo") { try inside.setUp(loopback) }
        } catch {
            pool.release(address)
            throw error
        }
        let mac = kind == .macvlan ? (macAddress ?? address.dockerMAC).map { String(format: "%02x", $0) }.joined(separator: ":") : ""
        return NetworkEndpoint(address: address.description, prefixLength: subnet.prefix, gateway: gateway.description, macAddress: mac,
                               hostInterface: parent, interface: interface)
    }

    /// Gives the address back; with `namespace` (the container still runs) its link goes too.
    public func disconnect(_ endpoint: NetworkEndpoint, namespace: NetworkNamespace? = nil) throws {
        if let namespace {
            let inside = try namespace.netlink()
            if let index = try inside.linkIndex(endpoint.interfaceName) { try inside.deleteLink(index) }
        }
        if let address = IPv4Address(endpoint.address) { pool.release(address) }
    }

    public func reclaim(_ endpoint: NetworkEndpoint) {
        if let address = IPv4Address(endpoint.address) { _ = pool.claim(address) }
    }
}
