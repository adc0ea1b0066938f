/// A network as Berth stores it (`DATA/networks/<id>.json`): what `docker network create` asked
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
    /// The Linux bridge (`br-<id prefix>` unless `com.docker.network.bridge.name` names one).
    public var bridge: String?
    public var isInternal: Bool
    public var attachable: Bool
    public var labels: [String: String]
    public var options: [String: String]
    /// The networks every daemon has: `bridge`, `host` and `none`.
    public var predefined: Bool

    public init(id: String, name: String, driver: String, created: String, subnet: String? = nil, gateway: String? = nil,
                ipRange: String? = nil, bridge: String? = nil, isInternal: Bool = false, attachable: Bool = false,
                labels: [String: String] = [:], options: [String: String] = [:], predefined: Bool = false) {
        self.id = id
        self.name = name
        self.driver = driver
        self.created = created
        self.subnet = subnet
        self.gateway = gateway
        self.ipRange = ipRange
        self.bridge = bridge
        self.isInternal = isInternal
        self.attachable = attachable
        self.labels = labels
        self.options = options
        self.predefined = predefined
    }
}

/// dockerd's default address pools for new networks: 172.17–31.0.0/16, then
/// 192.168.0–240.0/20; the first that overlaps no network and no route of the host.
public enum SubnetChooser {
    public static let defaultPools: [IPv4Subnet] =
        (17...31).map { IPv4Subnet(IPv4Address(UInt32(172) << 24 | UInt32($0) << 16), prefix: 16) }
        + stride(from: 0, through: 240, by: 16).map { IPv4Subnet(IPv4Address(UInt32(192) << 24 | UInt32(168) << 16 | UInt32($0) << 8), prefix: 20) }

    public static func next(avoiding taken: [IPv4Subnet], pools: [IPv4Subnet] = defaultPools) -> IPv4Subnet? {
        pools.first { pool in !taken.contains { $0.overlaps(pool) } }
    }
}
