/// A network as Berth stores it (a row of berth.db): what `docker network create` asked
/// for, with the subnet and Linux bridge it was given.
public struct NetworkDefinition: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    /// `bridge`, `host` or `null` (dockerd's names; `none` is the `null` driver).
    public var driver: String
    public var created: String
    public var subnet: String?
    public var gateway: String?
    public var ipRange: String?
    /// Addresses the network must not give containers (`--aux-address NAME=IP`).
    public var auxiliaryAddresses: [String: String]?
    /// A dual-stack network's IPv6 subnet and gateway (`--ipv6`).
    public var subnet6: String?
    public var gateway6: String?
    /// The Linux bridge (`br-<id prefix>` unless `com.docker.network.bridge.name` names one).
    public var bridge: String?
    public var isInternal: Bool
    public var attachable: Bool
    public var labels: [String: String]
    public var options: [String: String]
    /// The networks every daemon has: `bridge`, `host` and `none`.
    public var predefined: Bool

    public init(id: String, name: String, driver: String, created: String, subnet: String? = nil, gateway: String? = nil,
                ipRange: String? = nil, auxiliaryAddresses: [String: String]? = nil, subnet6: String? = nil, gateway6: String? = nil, bridge: String? = nil, isInternal: Bool = false, attachable: Bool = false,
                labels: [String: String] = [:], options: [String: String] = [:], predefined: Bool = false) {
        self.id = id
        self.name = name
        self.driver = driver
        self.created = created
        self.subnet = subnet
        self.gateway = gateway
        self.ipRange = ipRange
        self.auxiliaryAddresses = auxiliaryAddresses
        self.subnet6 = subnet6
        self.gateway6 = gateway6
        self.bridge = bridge
        self.isInternal = isInternal
        self.attachable = attachable
        self.labels = labels
        self.options = options
        self.predefined = predefined
    }
}

extension NetworkDefinition {
    /// The `--aux-address` entries as addresses.
    public var reservedAddresses: [IPv4Address] { (auxiliaryAddresses ?? [:]).values.compactMap(IPv4Address.init) }
}

/// A daemon.json `default-address-pools` entry: networks of prefix `size` carved from `base`.
public struct AddressPoolSpec: Sendable, Equatable {
    public var base: IPv4Subnet
    public var size: Int

    public init(base: IPv4Subnet, size: Int) {
        self.base = base
        self.size = size
    }

    /// The networks of the pool, in order.
    var subnets: some Sequence<IPv4Subnet> {
        let step = UInt64(1) << UInt64(32 - size), start = UInt64(base.network.value), end = UInt64(base.broadcast.value)
        return stride(from: start, through: end, by: Int(step)).lazy.map { IPv4Subnet(IPv4Address(UInt32($0)), prefix: size) }
    }
}

/// The subnet for a new network: the first of the address pools (dockerd's defaults:
/// 172.17–31.0.0/16, then 192.168.0–240.0/20) that overlaps no network and no route of the host.
public enum SubnetChooser {
    public static let defaultPools: [AddressPoolSpec] =
        (17...31).map { AddressPoolSpec(base: IPv4Subnet(IPv4Address(UInt32(172) << 24 | UInt32($0) << 16), prefix: 16), size: 16) }
        + [AddressPoolSpec(base: IPv4Subnet(IPv4Address(UInt32(192) << 24 | UInt32(168) << 16), prefix: 16), size: 20)]

    public static func next(avoiding taken: [IPv4Subnet], pools: [AddressPoolSpec] = defaultPools) -> IPv4Subnet? {
        for pool in pools {
            if let free = pool.subnets.first(where: { candidate in !taken.contains { $0.overlaps(candidate) } }) { return free }
        }
        return nil
    }
}
