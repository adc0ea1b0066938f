/// An IPv4 address.
public struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// `172.17.0.1`; nil for anything else (no shorthand forms, no leading zeros).
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let octet = UInt8(part),
                  part == "0" || !part.hasPrefix("0") else { return nil }
            value = value << 8 | UInt32(octet)
        }
        self.value = value
    }

    /// Four bytes in network order.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 else { return nil }
        value = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    public var bytes: [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)] }
    public var description: String { bytes.map(String.init).joined(separator: ".") }

    /// Docker's MAC for an address on a bridge: `02:42` and the four address bytes.
    public var dockerMAC: [UInt8] { [0x02, 0x42] + bytes }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
}

/// An IPv4 network: an address with a prefix length (`172.17.0.0/16`).
public struct IPv4Subnet: Sendable, Hashable, CustomStringConvertible {
    /// The network's first address (host bits cleared).
    public let network: IPv4Address
    public let prefix: Int

    public init(_ address: IPv4Address, prefix: Int) {
        precondition((0...32).contains(prefix))
        self.prefix = prefix
        network = IPv4Address(address.value & IPv4Subnet.mask(prefix))
    }

    /// `10.1.0.0/24`; nil when malformed. Host bits set are cleared, as dockerd accepts
    /// `172.18.0.1/16` for the subnet `172.18.0.0/16`.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(String(parts[0])), parts[1].allSatisfy(\.isASCII),
              let prefix = Int(parts[1]), (0...32).contains(prefix) else { return nil }
        self.init(address, prefix: prefix)
    }

    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : UInt32.max << (32 - prefix) }

    public var mask: UInt32 { Self.mask(prefix) }
    public var broadcast: IPv4Address { IPv4Address(network.value | ~mask) }
    public var description: String { "\(network)/\(prefix)" }

    public func contains(_ address: IPv4Address) -> Bool { address.value & mask == network.value }

    public func overlaps(_ other: IPv4Subnet) -> Bool {
        let shorter = min(prefix, other.prefix)
        return network.value & Self.mask(shorter) == other.network.value & Self.mask(shorter)
    }
}

/// The addresses of one network: the gateway and those handed out are taken; an allocation
/// takes the lowest free host address of the allocation range (dockerd's `fixed-cidr`, or the
/// whole subnet), never the network's or broadcast address.
public struct AddressPool: Sendable, Equatable {
    public let subnet: IPv4Subnet
    public let range: IPv4Subnet
    public let gateway: IPv4Address
    /// Never given (the network's `--aux-address` entries).
    public let reserved: Set<IPv4Address>
    public private(set) var taken: Set<IPv4Address>

    public init(subnet: IPv4Subnet, range: IPv4Subnet? = nil, gateway: IPv4Address? = nil, reserved: [IPv4Address] = []) {
        self.subnet = subnet
        self.range = range ?? subnet
        self.gateway = gateway ?? IPv4Address(subnet.network.value + 1)
        self.reserved = Set(reserved)
        taken = Set(reserved + [self.gateway])
    }

    /// The next free address; nil when the range is full.
    public mutating func allocate() -> IPv4Address? {
        let first = max(range.network.value, subnet.network.value + 1)
        let last = min(range.broadcast.value, subnet.broadcast.value - 1)
        guard first <= last else { return nil }
        for value in first...last where !taken.contains(IPv4Address(value)) {
            taken.insert(IPv4Address(value))
            return IPv4Address(value)
        }
        return nil
    }

    /// Takes `address` (a static `--ip`, or one a container held before a daemon restart);
    /// false when it is outside the subnet, reserved or taken.
    public mutating func claim(_ address: IPv4Address) -> Bool {
        guard subnet.contains(address), address != subnet.network, address != subnet.broadcast, !taken.contains(address) else { return false }
        taken.insert(address)
        return true
    }

    public mutating func release(_ address: IPv4Address) {
        if address != gateway && !reserved.contains(address) { taken.remove(address) }
    }
}
